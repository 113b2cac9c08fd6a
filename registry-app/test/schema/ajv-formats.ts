import type { Ajv } from "ajv";
import formats from "ajv-formats";

/** ajv-formats is CommonJS with a default export; this gives it one typed name under nodenext. */
export const addFormats = formats as unknown as (ajv: Ajv) => Ajv;
