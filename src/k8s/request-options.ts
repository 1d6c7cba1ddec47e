import { Observable, setHeaderOptions, type ConfigurationOptions, type RequestContext } from '@kubernetes/client-node';

/**
 * Per-request options for client-node 2.x's generated APIs. They pick a patch
 * Content-Type on their own (JSON patch first), so merge patches must set it;
 * and they take no AbortSignal parameter, so a deadline goes in through a
 * middleware on the request context.
 */
export function contentType(type: string): ConfigurationOptions {
  return setHeaderOptions('Content-Type', type);
}

/** Aborts the HTTP request when `signal` fires (e.g. `AbortSignal.timeout(ms)`). */
export function withSignal(signal: AbortSignal, base?: ConfigurationOptions): ConfigurationOptions {
  return {
    ...base,
    middleware: [
      ...(base?.middleware ?? []),
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/**
 * Acts as `user` for one request of a generated API (the Impersonate-User
 * header): the API server authorizes it as that user, e.g. an instance's
 * tenant ServiceAccount, so the caller's own rights do not apply.
 */
export function impersonate(user: string, base?: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions('Impersonate-User', user, base);
}
