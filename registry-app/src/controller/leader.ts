// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas exactly one reconciles. Expiry is
// judged on this replica's own clock: a lease whose record has not changed for its duration since we first saw it
// is free, whatever the holder's clock says. A leader that cannot renew within the renew deadline (shorter than the
// lease) stops before anyone else may start.
import type { Logger } from "../logger";
import { KubeApiError, microTime, type Kube } from "./kube";

export interface LeaseSettings {
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private leading = false;

  constructor(
    private readonly kube: Kube,
    private readonly settings: LeaseSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    const { namespace, name } = this.settings;
    return `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`;
  }

  /** One attempt to take or keep the lease; true when this replica holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, namespace, name, durationMs, retryPeriodMs } = this.settings;
    const timeout = retryPeriodMs;
    const now = this.now();
    const at = microTime(new Date(now));
    let lease: Lease | undefined;
    try {
      lease = await this.kube.request<Lease>("GET", this.path, undefined, undefined, timeout);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
    const seconds = Math.ceil(durationMs / 1000);
    if (lease === undefined) {
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        acquireTime: at,
        renewTime: at,
        leaseTransitions: 0,
      };
      try {
        await this.kube.request(
          "POST",
          `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
          { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec },
          undefined,
          timeout,
        );
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409) return false;
        throw error;
      }
      this.observed = { record: JSON.stringify(spec), at: now };
      return true;
    }
    const current = lease.spec ?? {};
    const record = JSON.stringify(current);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = current.holderIdentity ?? "";
    const leaseMs = (current.leaseDurationSeconds ?? seconds) * 1000;
    const expired = holder === "" || this.observed.at + leaseMs <= now;
    if (holder !== identity && !expired) return false;
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: seconds,
      acquireTime: holder === identity ? (current.acquireTime ?? at) : at,
      renewTime: at,
      leaseTransitions: (current.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
    };
    try {
      // resourceVersion makes this a compare-and-swap: of two replicas taking an expired lease, one wins.
      await this.kube.request("PUT", this.path, { ...lease, spec }, undefined, timeout);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw error;
    }
    if (holder !== identity)
      this.log.info({ lease: name, previous: holder || undefined }, "acquired the leader lease");
    this.observed = { record: JSON.stringify(spec), at: now };
    return true;
  }

  private async attempt(): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew();
    } catch (error) {
      this.log.warn({ err: error }, `leader lease: ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * Waits for the lease, calls `onStarted`, then renews every retry period; returns (after `onStopped`) when a
   * renewal has not succeeded within the renew deadline, or when `signal` aborts.
   */
  async run(signal: AbortSignal, onStarted: () => void, onStopped: () => void): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.settings;
    while (!signal.aborted && !(await this.attempt())) {
      // Jitter spreads the standby replicas' attempts.
      await sleep(retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return;
    this.leading = true;
    onStarted();
    let renewed = this.now();
    while (!signal.aborted) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.attempt()) renewed = this.now();
      else if (this.now() - renewed >= renewDeadlineMs) {
        this.log.error(
          { lease: this.settings.name },
          "lost the leader lease (no renewal within the renew deadline)",
        );
        break;
      }
    }
    this.leading = false;
    onStopped();
  }

  /** Gives the lease up at shutdown so a standby takes over at once instead of after the lease duration. */
  async release(): Promise<void> {
    try {
      const lease = await this.kube.request<Lease>(
        "GET",
        this.path,
        undefined,
        undefined,
        this.settings.retryPeriodMs,
      );
      if (lease.spec?.holderIdentity !== this.settings.identity) return;
      const at = microTime(new Date(this.now()));
      await this.kube.request(
        "PUT",
        this.path,
        { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: at } },
        undefined,
        this.settings.retryPeriodMs,
      );
      this.log.info({ lease: this.settings.name }, "released the leader lease");
    } catch (error) {
      this.log.warn({ err: error }, `could not release the leader lease: ${(error as Error).message}`);
    }
  }
}
