// What the hub's schema offers, discovered at run time: the apps behind the panels (cases,
// finance, hazchem, water) land independently, so each panel looks for its fields here and
// builds its query from the types it finds. Without the introspection scope (partners) the
// schema is unknown and panels fall back to their fixed queries.
import { request } from "./gql";

export interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
export interface Arg {
  name: string;
  type: TypeRef;
  defaultValue: string | null;
}
export interface Field {
  name: string;
  args: Arg[];
  type: TypeRef;
}
export interface NamedType {
  name: string;
  kind: string;
  fields: Field[] | null;
  inputFields: Arg[] | null;
  enumValues: { name: string }[] | null;
}

const REF = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";
const FIELD = `name args { name defaultValue type { ${REF} } } type { ${REF} }`;
const TYPE = `name kind fields { ${FIELD} } inputFields { name defaultValue type { ${REF} } } enumValues { name }`;

export class Schema {
  types = new Map<string, NamedType>();
  query: Field[] = [];
  mutation: Field[] = [];
  subscription: Field[] = [];

  static async load(): Promise<Schema | null> {
    const r = await request(
      `{ __schema { queryType { name } mutationType { name } subscriptionType { name } types { ${TYPE} } } }`,
    ).catch(() => null);
    if (!r || !r.data) return null;
    const s = new Schema();
    const root = r.data.__schema;
    for (const t of root.types as NamedType[]) s.types.set(t.name, t);
    s.query = s.types.get(root.queryType.name)?.fields ?? [];
    s.mutation = root.mutationType ? s.types.get(root.mutationType.name)?.fields ?? [] : [];
    s.subscription = root.subscriptionType ? s.types.get(root.subscriptionType.name)?.fields ?? [] : [];
    return s;
  }

  findQuery(...patterns: RegExp[]): Field | null {
    for (const p of patterns) {
      const f = this.query.find((q) => p.test(q.name));
      if (f) return f;
    }
    return null;
  }

  findMutation(pattern: RegExp): Field | null {
    return this.mutation.find((m) => pattern.test(m.name)) ?? null;
  }

  type(name: string | null): NamedType | null {
    return name ? this.types.get(name) ?? null : null;
  }

  /** The row type of a field: T of [T], or the node of a connection. */
  rowType(field: Field): { type: NamedType | null; connection: boolean; list: boolean } {
    const { name, list } = unwrap(field.type);
    const t = this.type(name);
    const edges = t?.fields?.find((f) => f.name === "edges");
    if (edges) {
      const edge = this.type(unwrap(edges.type).name);
      const node = edge?.fields?.find((f) => f.name === "node");
      return { type: node ? this.type(unwrap(node.type).name) : null, connection: true, list: true };
    }
    return { type: t, connection: false, list };
  }

  isLeaf(ref: TypeRef): boolean {
    const t = this.type(unwrap(ref).name);
    return !t || t.kind === "SCALAR" || t.kind === "ENUM";
  }

  /** Leaf fields of a type, and the leaves of its object fields one level down. */
  selection(type: NamedType, depth = 1, skip: RegExp = /^$/): string {
    const parts: string[] = [];
    for (const f of type.fields ?? []) {
      if (skip.test(f.name) || f.args.some((a) => a.type.kind === "NON_NULL" && a.defaultValue === null)) continue;
      if (this.isLeaf(f.type)) {
        parts.push(f.name);
      } else if (depth > 0) {
        const inner = this.type(unwrap(f.type).name);
        if (!inner || inner.kind === "INTERFACE" || inner.kind === "UNION") continue;
        if (inner.fields?.some((x) => x.name === "edges")) continue; // no nested connections
        const sub = this.selection(inner, depth - 1, /^(id|source|datum)$/);
        if (sub) parts.push(`${f.name} { ${sub} }`);
      }
    }
    return parts.join(" ");
  }

  /** A query listing a field's rows: ``{ field(first: N) { edges { node { ... } } } }``. */
  listQuery(field: Field, first: number, args: Record<string, string> = {}, after?: string): string | null {
    const { type, connection } = this.rowType(field);
    if (!type) return null;
    const sel = this.selection(type);
    const given: string[] = [];
    if (field.args.some((a) => a.name === "first")) given.push(`first: ${first}`);
    if (after && field.args.some((a) => a.name === "after")) given.push(`after: ${JSON.stringify(after)}`);
    for (const [name, value] of Object.entries(args)) {
      if (field.args.some((a) => a.name === name)) given.push(`${name}: ${value}`);
    }
    const call = given.length ? `${field.name}(${given.join(", ")})` : field.name;
    const conn = this.type(unwrap(field.type).name)?.fields ?? [];
    const total = connection && conn.some((f) => f.name === "totalCount");
    const paged = connection && conn.some((f) => f.name === "pageInfo");
    return connection
      ? `{ ${call} { ${total ? "totalCount" : ""} ${paged ? "pageInfo { hasNextPage endCursor }" : ""} edges { node { ${sel} } } } }`
      : `{ ${call} { ${sel} } }`;
  }
}

export function unwrap(ref: TypeRef): { name: string | null; list: boolean; required: boolean } {
  let list = false;
  const required = ref.kind === "NON_NULL";
  let r: TypeRef | null = ref;
  while (r && (r.kind === "NON_NULL" || r.kind === "LIST")) {
    if (r.kind === "LIST") list = true;
    r = r.ofType;
  }
  return { name: r?.name ?? null, list, required };
}

/** Rows of a list answer, connection or plain list. */
export function rows(value: any): Record<string, any>[] {
  if (!value) return [];
  if (Array.isArray(value)) return value;
  if (Array.isArray(value.edges)) return value.edges.map((e: any) => e.node);
  return [value];
}

/** Where a row is: its GeoJSON geometry, else lon/lat-like fields. */
export function geometryOf(row: Record<string, any>): any | null {
  if (row.geometry && typeof row.geometry === "object") return row.geometry;
  const lon = row.lon ?? row.lng ?? row.longitude;
  const lat = row.lat ?? row.latitude;
  if (typeof lon === "number" && typeof lat === "number") return { type: "Point", coordinates: [lon, lat] };
  if (row.location && typeof row.location === "object") return geometryOf(row.location);
  return null;
}
