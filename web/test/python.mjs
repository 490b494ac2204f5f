// Runs tests/web/js_fixtures.py: Python produces and judges what the browser
// code must agree with. The interpreter is $HAVEN_PYTHON (pytest passes its
// own) or the repository's .venv; a missing one fails the tests, never skips.

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PYTHON = process.env.HAVEN_PYTHON || join(REPO, ".venv", "bin", "python");

export function python(command, request = {}) {
  const out = execFileSync(PYTHON, ["-m", "tests.web.js_fixtures", command], {
    cwd: REPO,
    input: JSON.stringify(request),
    encoding: "utf-8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out);
}
