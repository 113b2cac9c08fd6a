export { loadCatalogueAssets, type CatalogueAssets } from "./assets";
export { contentSecurityPolicy, type CatalogueSettings } from "./page";
export { CATALOGUE_PAGES, registerCatalogue, type CatalogueOptions } from "./routes";
