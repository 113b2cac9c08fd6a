// Google Cloud regions that offer GKE, Cloud NAT, Cloud KMS and Artifact Registry (checked November 2026).
// A typo in `gcp:region` otherwise surfaces only as a provider error halfway through an update.
export const gcpRegions: readonly string[] = Object.freeze([
  "africa-south1",
  "asia-east1",
  "asia-east2",
  "asia-northeast1",
  "asia-northeast2",
  "asia-northeast3",
  "asia-south1",
  "asia-south2",
  "asia-southeast1",
  "asia-southeast2",
  "australia-southeast1",
  "australia-southeast2",
  "europe-central2",
  "europe-north1",
  "europe-north2",
  "europe-southwest1",
  "europe-west1",
  "europe-west2",
  "europe-west3",
  "europe-west4",
  "europe-west6",
  "europe-west8",
  "europe-west9",
  "europe-west10",
  "europe-west12",
  "me-central1",
  "me-central2",
  "me-west1",
  "northamerica-northeast1",
  "northamerica-northeast2",
  "northamerica-south1",
  "southamerica-east1",
  "southamerica-west1",
  "us-central1",
  "us-east1",
  "us-east4",
  "us-east5",
  "us-south1",
  "us-west1",
  "us-west2",
  "us-west3",
  "us-west4",
]);

export function isGcpRegion(region: string): boolean {
  return gcpRegions.includes(region);
}

/** A zone belongs to a region when it is `<region>-<letter>`. */
export function isZoneOfRegion(zone: string, region: string): boolean {
  return zone.startsWith(`${region}-`) && /^[a-z]$/.test(zone.slice(region.length + 1));
}
