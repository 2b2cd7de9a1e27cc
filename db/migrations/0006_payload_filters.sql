ALTER TABLE "endpoints" ADD COLUMN "filter" jsonb;--> statement-breakpoint
-- Payload filters in SQL, the twin of shared/payload-filter.ts (test/payload-filter.test.ts runs
-- every case through both). A filter is compiled once, when written, into a program of nested
-- arrays, so that judging it at send time (once per endpoint per event, in the fan-out statement)
-- needs only simple expressions and no query per step:
--   ["and", p…]  ["or", p…]  ["not", p]  ["if", [path segments…], operator, operand]
CREATE FUNCTION hookline_compile_payload_filter(filter jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  program jsonb := '["and"]';
  entry record;
  test record;
  path jsonb;
BEGIN
  IF filter IS NULL THEN
    RETURN NULL;
  END IF;
  FOR entry IN SELECT e.key, e.value FROM jsonb_each(filter) AS e LOOP
    IF entry.key IN ('$and', '$or') THEN
      program := program || jsonb_build_array(
        jsonb_build_array(substr(entry.key, 2)) ||
        coalesce((SELECT jsonb_agg(hookline_compile_payload_filter(f) ORDER BY n)
                    FROM jsonb_array_elements(entry.value) WITH ORDINALITY AS a(f, n)), '[]'));
    ELSIF entry.key = '$not' THEN
      program := program || jsonb_build_array(jsonb_build_array('not', hookline_compile_payload_filter(entry.value)));
    ELSE
      path := to_jsonb(string_to_array(entry.key, '.'));
      IF jsonb_typeof(entry.value) = 'object' AND entry.value <> '{}'
         AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(entry.value) AS k WHERE left(k, 1) <> '$') THEN
        FOR test IN SELECT e.key, e.value FROM jsonb_each(entry.value) AS e LOOP
          program := program || jsonb_build_array(jsonb_build_array('if', path, substr(test.key, 2), test.value));
        END LOOP;
      ELSE
        program := program || jsonb_build_array(jsonb_build_array('if', path, 'eq', entry.value));
      END IF;
    END IF;
  END LOOP;
  RETURN program;
END
$$;--> statement-breakpoint
-- Whether a payload meets a compiled filter. A path that is absent is SQL NULL here (JSON null is the
-- jsonb value 'null'), as it is undefined in TypeScript.
CREATE FUNCTION hookline_payload_matches(payload jsonb, program jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  kind text := program ->> 0;
  i int;
  segment text;
  actual jsonb;
  operator text;
  operand jsonb;
  found boolean;
BEGIN
  IF kind = 'and' THEN
    FOR i IN 1 .. jsonb_array_length(program) - 1 LOOP
      IF NOT hookline_payload_matches(payload, program -> i) THEN
        RETURN false;
      END IF;
    END LOOP;
    RETURN true;
  ELSIF kind = 'or' THEN
    FOR i IN 1 .. jsonb_array_length(program) - 1 LOOP
      IF hookline_payload_matches(payload, program -> i) THEN
        RETURN true;
      END IF;
    END LOOP;
    RETURN false;
  ELSIF kind = 'not' THEN
    RETURN NOT hookline_payload_matches(payload, program -> 1);
  END IF;
  -- ["if", path, operator, operand]
  actual := payload;
  FOR i IN 0 .. jsonb_array_length(program -> 1) - 1 LOOP
    segment := program -> 1 ->> i;
    actual := CASE
      WHEN jsonb_typeof(actual) = 'object' THEN actual -> segment
      WHEN jsonb_typeof(actual) = 'array' AND segment ~ '^(0|[1-9][0-9]{0,8})$' THEN actual -> segment::int
    END;
    EXIT WHEN actual IS NULL;
  END LOOP;
  operator := program ->> 2;
  operand := program -> 3;
  IF operator IN ('in', 'nin') THEN
    found := false;
    IF actual IS NOT NULL THEN
      FOR i IN 0 .. jsonb_array_length(operand) - 1 LOOP
        IF operand -> i = actual THEN
          found := true;
          EXIT;
        END IF;
      END LOOP;
    END IF;
    RETURN CASE WHEN operator = 'in' THEN found ELSE NOT found END;
  END IF;
  RETURN coalesce(CASE operator
    WHEN 'eq' THEN actual = operand
    WHEN 'ne' THEN actual IS NULL OR actual <> operand
    WHEN 'gt' THEN jsonb_typeof(actual) = 'number' AND actual::numeric > operand::numeric
    WHEN 'gte' THEN jsonb_typeof(actual) = 'number' AND actual::numeric >= operand::numeric
    WHEN 'lt' THEN jsonb_typeof(actual) = 'number' AND actual::numeric < operand::numeric
    WHEN 'lte' THEN jsonb_typeof(actual) = 'number' AND actual::numeric <= operand::numeric
    WHEN 'exists' THEN (actual IS NOT NULL) = operand::boolean
    WHEN 'startsWith' THEN jsonb_typeof(actual) = 'string' AND starts_with(actual #>> '{}', operand #>> '{}')
  END, false);
END
$$;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "filter_program" jsonb GENERATED ALWAYS AS (hookline_compile_payload_filter(filter)) STORED;
