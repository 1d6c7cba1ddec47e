// Who is signed in: GET /me with the token (a bad token is a 401 problem).
import { get } from './api';
import type { Me } from './types';

export const whoAmI = (t: string): Promise<Me> => get<Me>('/me', { token: t });
