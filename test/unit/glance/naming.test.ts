import { describe, expect, it } from 'vitest';
import { defaultNamePattern, imageName, manifestTag } from '../../../src/glance/naming.js';

describe('image names and tags', () => {
  it('fills {image}, {tag} and {format} in the pattern; the default has the build tag', () => {
    const f = { image: 'web', tag: 'v7', format: 'raw' };
    expect(imageName(defaultNamePattern('v7'), f)).toEqual({ ok: true, value: 'web-v7' });
    expect(imageName(defaultNamePattern(''), { ...f, tag: '' })).toEqual({ ok: true, value: 'web' });
    expect(imageName('golden/{image}:{tag}.{format}', f)).toEqual({ ok: true, value: 'golden/web:v7.raw' });
  });

  it('refuses an unknown field, naming it', () => {
    expect(imageName('{image}-{date}', { image: 'w', tag: 't', format: 'raw' })).toMatchObject({ ok: false, error: { reason: 'usage', message: '--name {image}-{date}: unknown field {date}' } });
  });

  it('tags the manifest digest', () => {
    expect(manifestTag('ab'.repeat(32))).toBe(`imgfactory-manifest:sha256:${'ab'.repeat(32)}`);
  });
});
