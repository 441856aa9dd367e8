/**
 * dockerd's client of containerd's gRPC API (ours, or any containerd 1.6 on
 * `--containerd`), with the same protos the daemon serves. Every call carries
 * a namespace (`containerd-namespace` metadata); dockerd keeps its objects in
 * "moby", as Docker does.
 */
import grpc from "@grpc/grpc-js";
import { decodeAny, definitions } from "./containerd/proto.ts";
import { NAMESPACE_HEADER } from "./containerd/context.ts";

export const DOCKER_NAMESPACE = "moby";

const SERVICES = {
  version: "containerd.services.version.v1.Version",
  namespaces: "containerd.services.namespaces.v1.Namespaces",
  containers: "containerd.services.containers.v1.Containers",
  tasks: "containerd.services.tasks.v1.Tasks",
  events: "containerd.services.events.v1.Events",
} as const;
type Service = keyof typeof SERVICES;

/** A gRPC failure with its status code (grpc.status) and containerd's message. */
export class ContainerdCallError extends Error {
  constructor(readonly code: number, message: string, readonly method: string) {
    super(message);
  }
}

/** An event from Events.Subscribe, its payload decoded. */
export interface ContainerdEvent {
  timestamp: unknown;
  namespace: string;
  topic: string;
  event?: Record<string, unknown>;
}

type Stub = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

export class ContainerdClient {
  readonly #stubs = new Map<Service, Stub>();

  constructor(readonly address: string, readonly namespace = DOCKER_NAMESPACE) {}

  #stub(service: Service): Stub {
    let stub = this.#stubs.get(service);
    if (!stub) {
      const pkg = grpc.loadPackageDefinition(definitions());
      // deno-lint-ignore no-explicit-any
      const ctor = SERVICES[service].split(".").reduce((o: any, k) => o[k], pkg);
      stub = new ctor(`unix://${this.address}`, grpc.credentials.createInsecure()) as Stub;
      this.#stubs.set(service, stub);
    }
    return stub;
  }

  #metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set(NAMESPACE_HEADER, this.namespace);
    return md;
  }

  /**
   * One unary call, e.g. `call("tasks", "Start", { container_id })`. While
   * containerd is away (restarting), a call that could not be sent is retried
   * for up to 30 s instead of failing at once.
   */
  async call<T = Record<string, unknown>>(
    service: Service,
    method: string,
    request: Record<string, unknown>,
  ): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (let delay = 100;; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.#once<T>(service, method, request);
      } catch (e) {
        const unsent = e instanceof ContainerdCallError && e.code === grpc.status.UNAVAILABLE &&
          /No connection established|connect E/.test(e.message);
        if (!unsent || Date.now() + delay > deadline) throw e;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  #once<T>(
    service: Service,
    method: string,
    request: Record<string, unknown>,
  ): Promise<T> {
    const stub = this.#stub(service);
    return new Promise<T>((resolve, reject) => {
      stub[method](request, this.#metadata(), (err: grpc.ServiceError | null, res: T) => {
        if (err) reject(new ContainerdCallError(err.code, err.details || err.message, method));
        else resolve(res);
      });
    });
  }

  /** Events matching containerd filter expressions, until `signal` aborts. */
  async *subscribe(filters: string[], signal?: AbortSignal): AsyncIterable<ContainerdEvent> {
    const call = this.#stub("events").Subscribe({ filters }, this.#metadata()) as
      & grpc.ClientReadableStream<Record<string, unknown>>
      & AsyncIterable<Record<string, unknown>>;
    signal?.addEventListener("abort", () => call.cancel());
    try {
      for await (const env of call) {
        yield {
          timestamp: env.timestamp,
          namespace: String(env.namespace),
          topic: String(env.topic),
          event: decodeAny(env.event as never),
        };
      }
    } catch (e) {
      if ((e as grpc.ServiceError).code === grpc.status.CANCELLED) return;
      throw e;
    }
  }

  close(): void {
    for (const s of this.#stubs.values()) s.close();
    this.#stubs.clear();
  }
}
