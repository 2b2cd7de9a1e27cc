import { fork } from 'node:child_process';
import { Pool } from 'undici';
for (const mode of ['bare', 'trpc', 'trpc-body', 'trpc', 'trpc-body']) {
  const child = fork(new URL('./trpc-floor.ts', import.meta.url).pathname, [mode], { execArgv: ['--import', 'tsx'] });
  const { port } = await new Promise<any>((r) => child.once('message', r));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
  const body = JSON.stringify({ tenantId: 'tnt_x', type: 'bench.event', payload: { object: 'job', id: 'job_1', status: 'completed', result: { url: 'https://cdn.example.com/r.mp4', w: 1920 } } });
  const run = async (total: number) => { let i = 0; const t0 = performance.now(); await Promise.all(Array.from({ length: 16 }, async () => { while (i++ < total) { const r = await pool.request({ path: '/trpc/send', method: 'POST', headers: { 'content-type': 'application/json' }, body }); await r.body.text(); } })); return performance.now() - t0; };
  await run(2000);
  const cpu = () => new Promise<any>((r) => { child.once('message', r); child.send('cpu'); });
  const a = await cpu(); const ms = await run(10000); const b = await cpu();
  const us = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / (b.n - a.n);
  console.log(mode, Math.round(10000 / ms * 1000), 'req/s', Math.round(us), 'µs CPU/request (server)');
  await pool.close(); child.kill();
}
