import { runUserOracle } from "./user/run-user.ts";
const t = Date.now();
const count = Number(process.argv[2] ?? 4);
const r = await runUserOracle({ seed: Number(process.argv[3] ?? 1), count });
console.log(r.passed, r.failed, Date.now() - t, "ms");
const byForm = new Map<string, number>();
for (const f of r.failures) byForm.set(f.formKey, (byForm.get(f.formKey) ?? 0) + 1);
console.log([...byForm].map(([k, v]) => `${k}:${v}`).join("\n"));
const seen = new Set<string>();
for (const f of r.failures) { if (seen.has(f.formKey)) continue; seen.add(f.formKey); console.log(JSON.stringify(f, null, 1)); }
console.log(r.excluded);
console.log(Object.keys(r.perForm).length, "forms");
