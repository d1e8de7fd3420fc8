// Adds up the vitest JSON reports of all workspaces into one closing line.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workspaces = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).workspaces;
const folders = workspaces.flatMap((pattern) =>
  pattern.endsWith("/*") ? readdirSync(path.join(root, pattern.slice(0, -2))).map((name) => path.join(pattern.slice(0, -2), name)) : [pattern],
);

const totals = { passed: 0, failed: 0, skipped: 0 };
const missing = [];
for (const folder of folders) {
  if (!existsSync(path.join(root, folder, "package.json"))) continue;
  const report = path.join(root, folder, ".vitest-report.json");
  if (!existsSync(report)) {
    missing.push(folder);
    continue;
  }
  const result = JSON.parse(readFileSync(report, "utf8"));
  totals.passed += result.numPassedTests;
  totals.failed += result.numFailedTests;
  totals.skipped += result.numPendingTests + result.numTodoTests;
}
if (missing.length > 0) {
  process.stdout.write(`no test report from ${missing.join(", ")}: its tests did not run\n`);
  totals.failed += missing.length;
}
process.stdout.write(`Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exitCode = totals.failed > 0 ? 1 : 0;
