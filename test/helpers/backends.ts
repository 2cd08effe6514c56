import type { BackendName } from '../../src/index.js';

/**
 * The backends a conformance or statistics test runs on: `js` and `native` always (a missing addon fails the
 * test: CI builds it), `webgpu` when an adapter exists, and always when SC_REQUIRE_WEBGPU=1 (CI), so that
 * "no adapter" fails there instead of skipping.
 */
export async function backendsUnderTest(): Promise<BackendName[]> {
  const list: BackendName[] = ['js', 'native'];
  if (process.env.SC_REQUIRE_WEBGPU === '1' || (await webgpuPresent())) list.push('webgpu');
  return list;
}

async function webgpuPresent(): Promise<boolean> {
  try {
    const { probeAdapter } = await import('../../src/webgpu/gpu.js');
    return (await probeAdapter()) !== null;
  } catch {
    return false;
  }
}
