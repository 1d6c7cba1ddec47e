export default async function globalTeardown(): Promise<void> {
  const cp = globalThis.__CAELUS_CONTROL_PLANE__;
  globalThis.__CAELUS_CONTROL_PLANE__ = undefined;
  await cp?.stop();
}
