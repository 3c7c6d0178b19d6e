// What a third-party frontend does first, typed from openapi/openapi.json:
// log in, create a project, list it, read it back, change it with If-Match.
// A field or path that drifts from the document fails `tsc`, not a user.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(ok: boolean, what: string, detail?: unknown): void {
  if (!ok) {
    console.error(`typed client: ${what} failed`, detail ?? "");
    process.exit(1);
  }
}

const client = createClient<paths>({ baseUrl: need("API_BASE") });

const login = await client.POST("/api/v1/auth/login", {
  body: { username: need("API_USER"), password: need("API_PASSWORD") },
});
check(login.response.status === 200 && login.data !== undefined, "login", login.error);
const headers = { Authorization: `Bearer ${login.data!.access_token}` };

const name = `台積電先進封裝 ${Date.now()}`;
const created = await client.POST("/api/v1/projects", {
  headers,
  body: {
    park_code: "yueyang",
    name,
    industry: "electronic_information",
    attraction_mode: "industrial_chain",
    planned_investment_usd: 120_000_000,
    tags: ["半导体"],
  },
});
check(created.response.status === 201 && created.data !== undefined, "create", created.error);
const id = created.data!.id;
check(created.response.headers.get("Location") === `/api/v1/projects/${id}`, "Location header");

const listed = await client.GET("/api/v1/projects", {
  headers,
  params: { query: { park: ["yueyang"], q: "台积电", limit: 50 } },
});
// The list also answers CSV and XLSX (other media types of the same 200), so
// the typed answer is a union: a JSON page is the object with `items`.
const page = typeof listed.data === "object" && listed.data !== null && "items" in listed.data ? listed.data : undefined;
check(page?.items.some((p) => p.id === id) === true, "list and search", listed.error);

const read = await client.GET("/api/v1/projects/{id}", { headers, params: { path: { id } } });
check(read.data?.name === name && read.data.stage === "lead", "read back", read.error);
const etag = read.response.headers.get("ETag");
check(etag === '"1"', "ETag", etag);

const changed = await client.PATCH("/api/v1/projects/{id}", {
  headers,
  params: { path: { id }, header: { "If-Match": etag! } },
  body: { stage: "negotiating" },
});
check(changed.data?.version === 2 && changed.data.stage_history.length === 2, "change with If-Match", changed.error);

const stale = await client.PATCH("/api/v1/projects/{id}", {
  headers,
  params: { path: { id }, header: { "If-Match": etag! } },
  body: { notes: "stale" },
});
check(stale.response.status === 412 && stale.error?.errors[0]?.field === "If-Match", "stale If-Match is 412", stale.error);

console.log("typed client: login, create, list, read, change and a stale change behaved as documented");
