ALTER TABLE "endpoints" ADD COLUMN "filter" jsonb;--> statement-breakpoint
-- The SQL twin of shared/payload-filter.ts `matchesPayloadFilter` (the fan-out statement calls it for
-- each endpoint with a filter); test/payload-filter.test.ts runs every case through both.
-- A missing path is SQL NULL here (`actual`) (JSON null is the jsonb actual 'null'), as undefined is in TypeScript.
CREATE FUNCTION hookline_condition_matches(actual jsonb, condition jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  operator text;
  operand jsonb;
  holds boolean;
BEGIN
  IF jsonb_typeof(condition) IS DISTINCT FROM 'object' OR condition = '{}'::jsonb
     OR EXISTS (SELECT 1 FROM jsonb_object_keys(condition) AS k WHERE left(k, 1) <> '$') THEN
    RETURN actual IS NOT NULL AND actual = condition;
  END IF;
  FOR operator, operand IN SELECT e.key, e.value FROM jsonb_each(condition) AS e LOOP
    holds := CASE operator
      WHEN '$eq' THEN actual IS NOT NULL AND actual = operand
      WHEN '$ne' THEN actual IS NULL OR actual <> operand
      WHEN '$in' THEN actual IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements(operand) AS e WHERE e = actual)
      WHEN '$nin' THEN actual IS NULL OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(operand) AS e WHERE e = actual)
      WHEN '$gt' THEN jsonb_typeof(actual) = 'number' AND actual::numeric > operand::numeric
      WHEN '$gte' THEN jsonb_typeof(actual) = 'number' AND actual::numeric >= operand::numeric
      WHEN '$lt' THEN jsonb_typeof(actual) = 'number' AND actual::numeric < operand::numeric
      WHEN '$lte' THEN jsonb_typeof(actual) = 'number' AND actual::numeric <= operand::numeric
      WHEN '$exists' THEN (actual IS NOT NULL) = operand::boolean
      WHEN '$startsWith' THEN jsonb_typeof(actual) = 'string' AND starts_with(actual #>> '{}', operand #>> '{}')
      ELSE false
    END;
    IF holds IS NOT TRUE THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN true;
END
$$;--> statement-breakpoint
CREATE FUNCTION hookline_payload_matches(payload jsonb, filter jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  path text;
  condition jsonb;
  segment text;
  actual jsonb;
BEGIN
  FOR path, condition IN SELECT e.key, e.value FROM jsonb_each(filter) AS e LOOP
    IF path = '$and' THEN
      IF EXISTS (SELECT 1 FROM jsonb_array_elements(condition) AS f WHERE NOT hookline_payload_matches(payload, f)) THEN
        RETURN false;
      END IF;
    ELSIF path = '$or' THEN
      IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(condition) AS f WHERE hookline_payload_matches(payload, f)) THEN
        RETURN false;
      END IF;
    ELSIF path = '$not' THEN
      IF hookline_payload_matches(payload, condition) THEN
        RETURN false;
      END IF;
    ELSE
      actual := payload;
      FOREACH segment IN ARRAY string_to_array(path, '.') LOOP
        actual := CASE
          WHEN jsonb_typeof(actual) = 'object' THEN actual -> segment
          WHEN jsonb_typeof(actual) = 'array' AND segment ~ '^(0|[1-9][0-9]{0,8})$' THEN actual -> segment::int
        END;
        EXIT WHEN actual IS NULL;
      END LOOP;
      IF NOT hookline_condition_matches(actual, condition) THEN
        RETURN false;
      END IF;
    END IF;
  END LOOP;
  RETURN true;
END
$$;
