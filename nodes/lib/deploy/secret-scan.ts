import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { mask, secretsIn } from './secret-rules';

/**
 * Secret scanner for CI (scripts/scan-secrets.mjs): the rules of secret-rules.ts (the legacy system's
 * passwords, private keys, token shapes, password literals, credentials inside URLs) on every text file of the
 * folders a package or a deployment carries. A line that must hold a pattern on
 * purpose (the scanner's own list) says `secret-scan: allow` on that line.
 */
export interface SecretFinding {
  file: string;
  line: number;
  rule: string;
  /** the matched text with its middle masked, so the report does not republish the secret */
  excerpt: string;
}

export { SECRET_RULES } from './secret-rules';

const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git', '.userdir', '.node22', 'results']);
const TEXT_EXT = /\.(ts|js|cjs|mjs|json|html|md|ya?ml|sh|service|conf|env|txt|toml|ini|py|sql)$|(^|[/\\])(Dockerfile|[^/\\.]+)$/;
/** Findings in one text; `file` only labels them. The rules are secret-rules.ts (the same as validate/deploy). */
export function scanText(text: string, file: string): SecretFinding[] {
  return secretsIn(text).map((h) => ({ file, line: h.line, rule: h.rule, excerpt: mask(h.match) }));
}

/** Every text file under `paths` (files or folders, relative to `root`). */
export function filesToScan(root: string, paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const e of readdirSync(abs)) if (!SKIP_DIRS.has(e)) walk(join(abs, e));
    } else if (st.isFile() && st.size < 2_000_000 && TEXT_EXT.test(abs)) out.push(abs);
  };
  for (const p of paths) {
    const abs = join(root, p);
    if (existsSync(abs)) walk(abs);
  }
  return out.sort();
}

/** The folders and files CI scans. */
export const SCAN_PATHS: readonly string[] = ['flows', 'examples', 'nodes', 'settings.ts', 'scripts', 'bin', 'deploy', 'docs', 'README.md', 'package.json'];

/** Scan `paths` under `root`; files holding a NUL byte (binary) are skipped. */
export function scanTree(root: string, paths: readonly string[] = SCAN_PATHS): { files: number; findings: SecretFinding[] } {
  const files = filesToScan(root, paths);
  const findings: SecretFinding[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (text.includes('\u0000')) continue;
    findings.push(...scanText(text, relative(root, f).split(sep).join('/')));
  }
  return { files: files.length, findings };
}
