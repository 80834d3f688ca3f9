// `--secret`: BuildKit's syntax for where a secret comes from, plus `export`
// for hooks that read it from a variable (diskimage-builder's DIB_* knobs):
//
//   --secret id=ID,src=FILE    the value is FILE's bytes
//   --secret id=ID,env=VAR     the value is $VAR of imgfactory's environment
//   --secret id=ID             the same as env=ID
//   ...,export                 hooks also get it as the variable ID
//
// The option never holds the value itself (it would be in the shell history
// and in `ps`), and no message about a secret repeats its value. A variable
// a secret was read from is taken out of imgfactory's own environment, so no
// program it runs inherits it.
import { readFile, stat } from 'node:fs/promises';
import { FailureError } from '../failure.js';
import { MAX_SECRET_BYTES, MIN_SECRET_BYTES, Secret, SECRET_ID } from '../secrets/secret.js';

export const SECRET_SYNTAX = 'id=ID,src=FILE or id=ID,env=VAR, with ",export" to give hooks the variable ID as well';

interface SecretSpec {
  id: string;
  from: { file: string } | { env: string };
  exported: boolean;
}

const usage = (message: string, hint = `--secret ${SECRET_SYNTAX}`): FailureError => new FailureError({ reason: 'usage', message, hint });

const tooLarge = (id: string, where: string): FailureError =>
  usage(`secret ${id} (from ${where}) is larger than ${MAX_SECRET_BYTES / 1024} KiB`, 'a secret is a credential; hand larger data to hooks through an element');

/** One `--secret` option, parsed (nothing read yet). */
export function parseSecretSpec(text: string): SecretSpec {
  const fields: Record<string, string> = {};
  let exported = false;
  for (const field of text.split(',')) {
    if (field === 'export') {
      exported = true;
      continue;
    }
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    if (eq < 0 || !['id', 'src', 'source', 'env'].includes(key)) throw usage(`--secret ${JSON.stringify(text)}: unknown field ${JSON.stringify(key)}`);
    const name = key === 'source' ? 'src' : key;
    if (name in fields) throw usage(`--secret ${JSON.stringify(text)}: ${name} is given twice`);
    fields[name] = field.slice(eq + 1);
  }
  const id = fields.id;
  if (id === undefined) throw usage(`--secret ${JSON.stringify(text)}: no id`);
  if (!SECRET_ID.test(id)) throw usage(`--secret id=${JSON.stringify(id)}: an id is a file name: letters, digits, "_", "." and "-", not starting with "." or "-"`);
  if (fields.src !== undefined && fields.env !== undefined) throw usage(`--secret id=${id}: give src or env, not both`);
  if (fields.src === '') throw usage(`--secret id=${id}: src= names no file`);
  if (fields.env === '') throw usage(`--secret id=${id}: env= names no variable`);
  return { id, from: fields.src !== undefined ? { file: fields.src } : { env: fields.env ?? id }, exported };
}

/**
 * Parses and reads every `--secret`; takes the variables they were read from
 * out of `env` (imgfactory's own environment).
 */
export async function loadSecrets(items: readonly string[], env: NodeJS.ProcessEnv): Promise<Secret[]> {
  const specs = items.map(parseSecretSpec);
  const secrets: Secret[] = [];
  for (const spec of specs) {
    if (secrets.some((s) => s.id === spec.id)) throw usage(`--secret id=${spec.id} is given twice`);
    const bytes = await readValue(spec, env);
    const where = 'file' in spec.from ? `file ${spec.from.file}` : `variable ${spec.from.env}`;
    if (bytes.length < MIN_SECRET_BYTES) {
      throw usage(`secret ${spec.id} (from ${where}) is ${bytes.length} bytes long; a secret needs at least ${MIN_SECRET_BYTES}`, 'a shorter value cannot be told apart from ordinary text when logs are masked and layers are checked for it');
    }
    if (bytes.length > MAX_SECRET_BYTES) throw tooLarge(spec.id, where);
    if (spec.exported && bytes.includes(0)) throw usage(`secret ${spec.id} (from ${where}) holds a NUL byte and cannot be exported as a variable`, 'drop ",export": hooks read it from $IMGFACTORY_SECRETS/' + spec.id);
    secrets.push(new Secret(spec.id, bytes, spec.exported));
  }
  for (const spec of specs) if ('env' in spec.from) delete env[spec.from.env];
  return secrets;
}

async function readValue(spec: SecretSpec, env: NodeJS.ProcessEnv): Promise<Buffer> {
  if ('env' in spec.from) {
    const value = env[spec.from.env];
    if (value === undefined) throw usage(`secret ${spec.id}: the environment variable ${spec.from.env} is not set`, `set it, or read the secret from a file: --secret id=${spec.id},src=FILE`);
    return Buffer.from(value);
  }
  const file = spec.from.file;
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw usage(`secret ${spec.id}: file ${file}: ${e.code === 'ENOENT' ? 'does not exist' : e.message}`);
  });
  if (!st.isFile()) throw usage(`secret ${spec.id}: ${file} is not a file`);
  if (st.size > MAX_SECRET_BYTES) throw tooLarge(spec.id, `file ${file}`);
  return readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw usage(`secret ${spec.id}: file ${file}: ${e.message}`);
  });
}
