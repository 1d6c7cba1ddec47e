// Who is signed in: GET /me with the token. Until the server has /me (an
// older API), an admin-only read tells the roles apart.
import { ApiError, get } from './api';
import type { Me } from './types';

export async function whoAmI(t: string): Promise<Me> {
  try {
    return await get<Me>('/me', { token: t });
  } catch (err) {
    if (!(err instanceof ApiError && err.noRoute)) throw err;
  }
  await get('/instances?limit=1', { token: t });
  try {
    await get('/tokens', { token: t });
    return { role: 'admin', userId: null, tokenName: '', expiresAt: null };
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { role: 'user', userId: null, tokenName: '', expiresAt: null };
    throw err;
  }
}
