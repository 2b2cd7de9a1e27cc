// A tiny DNS server on loopback UDP for fault injection: it answers A and AAAA queries from a
// function the test gives, answers NXDOMAIN, or swallows the query (a DNS server that never
// answers). Tests and the dns-stall bench point hookline's resolver at it, so no DNS query ever
// leaves the machine. Only what a stub resolver sends is understood: one question per query.
import dgram from 'node:dgram';
import net from 'node:net';

export type DnsAnswer =
  /** Records of the asked type, with their TTL in seconds. */
  | { addresses: string[]; ttl: number }
  | 'nxdomain'
  /** Never answer: the query is dropped, as by a dead server or a firewall. */
  | 'swallow';

export interface DnsQuery {
  name: string;
  type: 'A' | 'AAAA' | number;
  at: number;
}

export interface FakeDnsServer {
  host: string;
  port: number;
  /** `host:port`, as `Resolver.setServers` takes it. */
  server: string;
  queries: DnsQuery[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const RCODE_NXDOMAIN = 3;

export async function startFakeDnsServer(
  answer: (name: string, type: DnsQuery['type']) => DnsAnswer,
  options: { host?: string; port?: number } = {},
): Promise<FakeDnsServer> {
  const host = options.host ?? '127.0.0.1';
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const queries: DnsQuery[] = [];
  socket.on('message', (packet, from) => {
    const question = parseQuestion(packet);
    if (!question) return;
    const type = question.type === TYPE_A ? 'A' : question.type === TYPE_AAAA ? 'AAAA' : question.type;
    queries.push({ name: question.name, type, at: Date.now() });
    const decided = answer(question.name, type);
    if (decided === 'swallow') return;
    const reply = buildReply(packet, question, decided);
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, host, () => resolve());
  });
  const { port } = socket.address();
  return {
    host,
    port,
    server: net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

interface Question {
  name: string;
  type: number;
  /** Byte offset just past the question (type and class included). */
  end: number;
}

function parseQuestion(packet: Buffer): Question | undefined {
  if (packet.length < 12 || packet.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < packet.length) {
    const length = packet[offset]!;
    offset += 1;
    if (length === 0) break;
    labels.push(
      packet
        .subarray(offset, offset + length)
        .toString('ascii')
        .toLowerCase(),
    );
    offset += length;
  }
  if (offset + 4 > packet.length) return undefined;
  return { name: labels.join('.'), type: packet.readUInt16BE(offset), end: offset + 4 };
}

function buildReply(query: Buffer, question: Question, answer: Exclude<DnsAnswer, 'swallow'>): Buffer {
  const wanted = question.type === TYPE_A ? 4 : question.type === TYPE_AAAA ? 6 : 0;
  const addresses = answer === 'nxdomain' ? [] : answer.addresses.filter((a) => net.isIP(a) === wanted);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  // QR, the query's RD bit, RA; rcode NXDOMAIN or NOERROR (NOERROR with no records = NODATA).
  header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (answer === 'nxdomain' ? RCODE_NXDOMAIN : 0), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((address) => {
    const data = wanted === 4 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(question.type, 2);
    record.writeUInt16BE(1, 4); // class IN
    record.writeUInt32BE(answer === 'nxdomain' ? 0 : answer.ttl, 6);
    record.writeUInt16BE(data.length, 10);
    return Buffer.concat([record, data]);
  });
  return Buffer.concat([header, query.subarray(12, question.end), ...records]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  for (const [i, group] of all.entries()) bytes.writeUInt16BE(parseInt(group, 16), i * 2);
  return bytes;
}
