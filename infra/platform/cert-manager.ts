// cert-manager and the ClusterIssuers: a self-signed CA locally (Let's Encrypt cannot reach Minikube), Let's
// Encrypt staging and production on GKE, solving HTTP-01 through the Gateway or DNS-01 in Cloud DNS.
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { HardenedNamespace } from "../lib/namespace";
import type { GatewaySettings } from "../settings";
import { charts } from "../versions";
import { pinnedRelease } from "./chart";
import type { ImageMirror } from "../lib/mirror";
import type { ChartSource } from "./chart-archive";
import { ANYWHERE, GKE_METADATA_EGRESS, allow, tcp } from "./network";
import {
  containerSecurity,
  podDisruptionBudget,
  podSecurity,
  sizing,
  type ChartWorkloadSizing,
} from "./values";

export type IssuerName = GatewaySettings["issuer"];

export const ACME_SERVERS: Readonly<Record<Exclude<IssuerName, "local-ca">, string>> = {
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
  "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
};

export interface CertManagerArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** Where nodes pull the chart images from (the stack's mirrors on GKE). */
  readonly imageMirror: ImageMirror | undefined;
  readonly namespace: string;
  readonly replicas: number;
  readonly gateway: Readonly<GatewaySettings>;
  /** Where HTTP-01 solver routes attach: the Gateway's plain-HTTP listener. */
  readonly http01ParentRef: {
    readonly name: string;
    readonly namespace: string;
    readonly sectionName: string;
  };
  /** Workload Identity pool and project on GKE; DNS-01 through Cloud DNS needs it. */
  readonly workloadIdentity: { readonly pool: string; readonly project: string } | undefined;
  readonly monitoring: {
    readonly namespace: string;
    readonly selectorLabels: Readonly<Record<string, string>>;
  };
  readonly dependsOn: pulumi.Resource[];
}

const RELEASE = "cert-manager";
const METRICS_PORT = 9402;
const WEBHOOK_PORT = 10250;

export class CertManager extends pulumi.ComponentResource {
  readonly namespace: string;
  /** Name of the ClusterIssuer the Gateway's certificate uses. */
  readonly clusterIssuer: IssuerName;
  /** The release and the ClusterIssuers; Certificates must wait for them. */
  readonly ready: pulumi.Resource[];
  /** PEM of the local CA, for SREs to trust on their laptops; undefined on GKE. */
  readonly localCaCertificate: pulumi.Output<string> | undefined;

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:CertManager", name, {}, opts);
    const provider = args.provider;
    this.namespace = args.namespace;
    this.clusterIssuer = args.gateway.issuer;
    const k8sOpts = { parent: this, provider };

    // restricted: every cert-manager pod runs non-root with a read-only root filesystem and no capabilities.
    const ns = new HardenedNamespace(
      `${name}-ns`,
      {
        provider,
        name: args.namespace,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        allowScrapingFrom: { namespace: args.monitoring.namespace, ports: [METRICS_PORT] },
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const afterNamespace = { ...k8sOpts, dependsOn: [ns] };
    allow(
      `${name}-allow-webhook`,
      {
        namespace: args.namespace,
        name: "allow-webhook-from-apiserver",
        podLabels: { "app.kubernetes.io/component": "webhook" },
        ingress: [{ from: [ANYWHERE], ports: tcp(WEBHOOK_PORT) }],
      },
      afterNamespace,
    );

    const dns01 = this.cloudDnsIdentity(name, args);
    const acme = args.gateway.issuer !== "local-ca";
    if (acme) {
      // ACME directory and the HTTP-01 self-check against the public address; Cloud DNS API for DNS-01.
      allow(
        `${name}-allow-acme`,
        {
          namespace: args.namespace,
          name: "allow-acme-egress",
          podLabels: { "app.kubernetes.io/component": "controller" },
          egress: [{ to: [ANYWHERE], ports: tcp(80, 443) }, ...(dns01 ? GKE_METADATA_EGRESS : [])],
        },
        afterNamespace,
      );
    }

    const controllerSizing: ChartWorkloadSizing = { cpu: "50m", memory: "128Mi", memoryLimit: "256Mi" };
    const smallSizing: ChartWorkloadSizing = { cpu: "20m", memory: "64Mi", memoryLimit: "128Mi" };
    const release = pinnedRelease(
      `${name}-release`,
      {
        chart: charts.certManager,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: RELEASE,
        namespace: args.namespace,
        values: {
          crds: { enabled: true, keep: true },
          global: { leaderElection: { namespace: args.namespace } },
          replicaCount: args.replicas,
          podDisruptionBudget: podDisruptionBudget(args.replicas),
          resources: sizing(controllerSizing),
          securityContext: podSecurity(),
          containerSecurityContext: containerSecurity(),
          enableCertificateOwnerRef: true,
          // Gateway API support: HTTP-01 solver routes and certificates referenced from Gateways.
          config: {
            apiVersion: "controller.config.cert-manager.io/v1alpha1",
            kind: "ControllerConfiguration",
            // `gatewayAPI.enabled` replaces `enableGatewayAPI`, deprecated in cert-manager 1.21.
            gatewayAPI: { enabled: true },
          },
          serviceAccount: dns01
            ? { annotations: { "iam.gke.io/gcp-service-account": dns01.email } }
            : { annotations: {} },
          prometheus: {
            enabled: true,
            servicemonitor: { enabled: true, labels: { ...args.monitoring.selectorLabels } },
          },
          webhook: {
            replicaCount: args.replicas,
            podDisruptionBudget: podDisruptionBudget(args.replicas),
            resources: sizing(smallSizing),
            securityContext: podSecurity(),
            containerSecurityContext: containerSecurity(),
          },
          cainjector: {
            replicaCount: args.replicas,
            podDisruptionBudget: podDisruptionBudget(args.replicas),
            resources: sizing(controllerSizing),
            securityContext: podSecurity(),
            containerSecurityContext: containerSecurity(),
          },
          startupapicheck: {
            enabled: true,
            resources: sizing(smallSizing),
            securityContext: podSecurity(),
            containerSecurityContext: containerSecurity(),
          },
        },
      },
      { ...afterNamespace, dependsOn: [ns, ...(dns01 ? [dns01.binding] : [])] },
    );
    const afterRelease = { ...k8sOpts, dependsOn: [release] };

    const issuers: pulumi.Resource[] = [];
    if (acme) {
      for (const issuer of ["letsencrypt-staging", "letsencrypt-production"] as const) {
        issuers.push(
          new k8s.apiextensions.CustomResource(
            `${name}-${issuer}`,
            {
              apiVersion: "cert-manager.io/v1",
              kind: "ClusterIssuer",
              metadata: { name: issuer },
              spec: {
                acme: {
                  server: ACME_SERVERS[issuer],
                  email: args.gateway.acmeEmail,
                  privateKeySecretRef: { name: `${issuer}-account-key` },
                  solvers: [
                    dns01
                      ? {
                          dns01: {
                            cloudDNS: { project: dns01.project, hostedZoneName: dns01.zone },
                          },
                        }
                      : {
                          http01: {
                            gatewayHTTPRoute: {
                              parentRefs: [
                                {
                                  group: "gateway.networking.k8s.io",
                                  kind: "Gateway",
                                  name: args.http01ParentRef.name,
                                  namespace: args.http01ParentRef.namespace,
                                  sectionName: args.http01ParentRef.sectionName,
                                },
                              ],
                            },
                          },
                        },
                  ],
                },
              },
            },
            afterRelease,
          ),
        );
      }
      this.localCaCertificate = undefined;
    } else {
      const ca = this.localCa(name, args.namespace, afterRelease);
      issuers.push(ca.issuer);
      this.localCaCertificate = ca.certificate;
    }
    this.ready = [release, ...issuers];
    this.registerOutputs({ clusterIssuer: this.clusterIssuer, localCaCertificate: this.localCaCertificate });
  }

  /** A self-signed CA made by Pulumi (kept in state as a secret) and a CA ClusterIssuer on top of it. */
  private localCa(
    name: string,
    namespace: string,
    opts: pulumi.CustomResourceOptions,
  ): { issuer: pulumi.Resource; certificate: pulumi.Output<string> } {
    const key = new tls.PrivateKey(
      `${name}-local-ca-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      { parent: this },
    );
    const cert = new tls.SelfSignedCert(
      `${name}-local-ca-cert`,
      {
        privateKeyPem: key.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: "mcp-registry local CA", organization: "mcp-registry (local)" },
        validityPeriodHours: 5 * 365 * 24,
        earlyRenewalHours: 30 * 24,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      { parent: this },
    );
    // A ClusterIssuer reads its CA Secret from cert-manager's own namespace (the cluster resource namespace).
    const secret = new k8s.core.v1.Secret(
      `${name}-local-ca-secret`,
      {
        metadata: { name: "local-ca", namespace },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": cert.certPem, "tls.key": key.privateKeyPem },
      },
      opts,
    );
    const issuer = new k8s.apiextensions.CustomResource(
      `${name}-local-ca`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: { name: "local-ca" },
        spec: { ca: { secretName: "local-ca" } },
      },
      { ...opts, dependsOn: [...toArray(opts.dependsOn), secret] },
    );
    return { issuer, certificate: cert.certPem };
  }

  /** A Google service account for DNS-01, allowed on the managed zone only and bound to cert-manager's KSA. */
  private cloudDnsIdentity(
    name: string,
    args: CertManagerArgs,
  ): { email: pulumi.Output<string>; project: string; zone: string; binding: pulumi.Resource } | undefined {
    const zone = args.gateway.cloudDnsZone;
    if (zone === undefined || args.workloadIdentity === undefined) return undefined;
    const project = args.workloadIdentity.project;
    const gsa = new gcp.serviceaccount.Account(
      `${name}-dns01`,
      { project, accountId: "cert-manager-dns01", displayName: "cert-manager DNS-01 solver" },
      { parent: this },
    );
    new gcp.dns.DnsManagedZoneIamMember(
      `${name}-dns01-zone-admin`,
      {
        project,
        managedZone: zone,
        role: "roles/dns.admin",
        member: pulumi.interpolate`serviceAccount:${gsa.email}`,
      },
      { parent: this },
    );
    const binding = new gcp.serviceaccount.IAMMember(
      `${name}-dns01-workload-identity`,
      {
        serviceAccountId: gsa.name,
        role: "roles/iam.workloadIdentityUser",
        member: `serviceAccount:${args.workloadIdentity.pool}[${args.namespace}/${RELEASE}]`,
      },
      { parent: this },
    );
    return { email: gsa.email, project, zone, binding };
  }
}

function toArray(
  value: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined,
): pulumi.Input<pulumi.Resource>[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value as pulumi.Input<pulumi.Resource>];
}
