// Sign-in through the hub's own OAuth 2 server: authorization code + PKCE (S256), public
// client, the token kept in sessionStorage (gone with the tab) and never in a URL.
export interface OpsConfig {
  issuer: string;
  clientId: string;
  redirectUri: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  scopes: string[];
}

export interface Session {
  token: string;
  user: string;
  roles: string[];
  scopes: string[];
  expiresAt: number;
}

const KEY = "ops-session";

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n: number): string {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

export async function loadConfig(): Promise<OpsConfig> {
  const res = await fetch("/ops-center/config.json", { cache: "no-store" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `config: HTTP ${res.status}`);
  return body as OpsConfig;
}

export function session(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const s = JSON.parse(raw) as Session;
  if (s.expiresAt <= Date.now() / 1000 + 5) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return s;
}

export async function signIn(cfg: OpsConfig): Promise<void> {
  const verifier = random(48);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const state = random(16);
  sessionStorage.setItem("ops-pkce", JSON.stringify({ verifier, state, hash: location.hash }));
  const url = new URL(cfg.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: cfg.scopes.join(" "),
    state,
    code_challenge: b64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

function claims(token: string): Record<string, unknown> {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(
    Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
  );
  return JSON.parse(json);
}

/** Back from /oauth/authorize: trade the code (with the PKCE verifier) for a token. */
export async function completeSignIn(cfg: OpsConfig): Promise<Session | null> {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem("ops-pkce") || "null");
  sessionStorage.removeItem("ops-pkce");
  history.replaceState(null, "", "/" + (pending?.hash || ""));
  if (params.has("error")) throw new Error(`${params.get("error")}: ${params.get("error_description") || ""}`);
  if (!pending || pending.state !== params.get("state")) throw new Error("sign-in state mismatch: try again");
  const res = await fetch(cfg.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code") || "",
      redirect_uri: cfg.redirectUri,
      client_id: cfg.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${body.error}: ${body.error_description || ""}`);
  const c = claims(body.access_token);
  const s: Session = {
    token: body.access_token,
    user: String(c.sub),
    roles: (c.roles as string[]) || [],
    scopes: String(body.scope || c.scope || "").split(" ").filter(Boolean),
    expiresAt: Number(c.exp),
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export async function signOut(cfg: OpsConfig | null): Promise<void> {
  const s = session();
  sessionStorage.removeItem(KEY);
  if (s && cfg) {
    await fetch(cfg.revocationEndpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: s.token, client_id: cfg.clientId }),
    }).catch(() => undefined);
  }
}

export function expire(): void {
  sessionStorage.removeItem(KEY);
}
