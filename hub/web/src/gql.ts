// GraphQL over HTTP with the bearer token, and subscriptions over graphql-transport-ws
// (the token in connection_init, as the hub expects).
import { expire, session } from "./auth";

export class GraphQLError extends Error {}

export interface Result<T = any> {
  data: T | null;
  errors: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
}

export async function request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<Result<T>> {
  const s = session();
  if (!s) throw new GraphQLError("signed out");
  const res = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      Authorization: `Bearer ${s.token}`,
      "Cityhub-Purpose": "operations-centre",
    },
    body: JSON.stringify({ query, variables }),
  });
  if (res.status === 401) {
    expire();
    location.reload();
    throw new GraphQLError("the session expired");
  }
  const body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status}` }] }));
  if (!res.ok && !body.data) {
    const msg = body.errors?.[0]?.message || body.error_description || body.error || `HTTP ${res.status}`;
    throw new GraphQLError(msg);
  }
  return { data: body.data ?? null, errors: body.errors ?? [] };
}

/** The data, or an error naming the first problem. */
export async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await request<T>(query, variables);
  if (r.errors.length) throw new GraphQLError(r.errors.map((e) => e.message).join("; "));
  return r.data as T;
}

export interface Subscription {
  close(): void;
}

/** Subscribe; reconnects after a drop (with a short back-off) until closed. */
export function subscribe(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: any) => void,
  onState: (live: boolean) => void,
): Subscription {
  let socket: WebSocket | null = null;
  let closed = false;
  let retry = 1000;
  const connect = () => {
    const s = session();
    if (!s || closed) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
    socket = new WebSocket(url, "graphql-transport-ws");
    socket.onopen = () => {
      socket?.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${s.token}` } }));
    };
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "connection_ack") {
        retry = 1000;
        onState(true);
        socket?.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
      } else if (msg.type === "next" && msg.payload?.data) {
        onData(msg.payload.data);
      } else if (msg.type === "ping") {
        socket?.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = () => {
      onState(false);
      if (!closed) {
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    };
  };
  connect();
  return {
    close() {
      closed = true;
      socket?.close();
    },
  };
}
