// The MCP registry on Kubernetes, read top-down like the whiteboard picture:
// settings -> cluster -> platform services -> data (object store, database, backups) -> registry -> outputs.
import { loadSettings } from "./settings";

// --- settings: the only place that reads config; fails here, before any resource, on bad config ---
const settings = loadSettings();

// --- cluster (issue 5): Minikube context or hardened GKE; filled in by the platform helper ---

// --- platform services (issue 5): cert-manager, Gateway API + NGINX Gateway Fabric, CNPG, K8up, monitoring ---

// --- backup object store (issue 5): MinIO or GCS, behind BackupObjectStore ---

// --- data and registry (issue 6) ---

// --- outputs ---
export const environment = settings.environment;
