import { describe } from 'vitest';
import { probeAdapter } from '../../src/webgpu/gpu.js';
import { WebgpuBackend, type WebgpuBackendOptions } from '../../src/backends/webgpu.js';

/**
 * WebGPU test gating: tests that need an adapter skip (with the reason in the suite name) when Dawn finds
 * none, unless SC_REQUIRE_WEBGPU=1 (CI), where they run and fail instead.
 */
process.env.XDG_RUNTIME_DIR ??= '/tmp';

export const requireWebgpu = process.env.SC_REQUIRE_WEBGPU === '1';
export const adapter = await probeAdapter();
export const skipReason = adapter
  ? undefined
  : 'no WebGPU adapter: Dawn found no Vulkan device (install mesa-vulkan-drivers from bookworm-backports for lavapipe; SC_REQUIRE_WEBGPU=1 makes this a failure)';

/** `describe` when an adapter exists or one is required; otherwise a skipped suite whose name says why. */
export function describeWebgpu(name: string, body: () => void): void {
  if (skipReason && !requireWebgpu) describe.skip(`${name} [skipped: ${skipReason}]`, body);
  else describe(name, body);
}

/** A backend that accepts the software adapter (CI's lavapipe). */
export function openBackend(options: WebgpuBackendOptions = {}): Promise<WebgpuBackend> {
  return WebgpuBackend.create({ allowSoftware: true, ...options });
}
