export { DEMO_CATALOGUE } from "./demo";
export { Ingestor, type IngestReport } from "./ingest";
export { entriesOf, readPath, readRegistry, readSeed, type Fetcher, type SourceEntry } from "./sources";
