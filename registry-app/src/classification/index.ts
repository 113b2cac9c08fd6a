/**
 * Categories and tags: the operator's taxonomy, the one normalisation of labels, and what a publisher's
 * server.json declares under _meta["io.modelcontextprotocol.registry/publisher-provided"].
 */
export { DEFAULT_CATEGORIES } from "./default-categories";
export {
  LABEL_MAX_LENGTH,
  LABEL_PATTERN,
  MAX_TAGS,
  normalizeLabel,
  publisherClassification,
  type PublisherClassification,
} from "./labels";
export {
  categorySchema,
  DEFAULT_TAXONOMY,
  loadTaxonomyFile,
  MAX_CATEGORIES,
  parseTaxonomy,
  Taxonomy,
  TaxonomyFileError,
  type Category,
} from "./taxonomy";
