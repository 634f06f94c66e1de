// A real OpenID provider for the console's sign-in tests: the certified `oidc-provider`
// package on 127.0.0.1 port 0, with its development login form (any login, any password:
// the login typed becomes the account's email). Its handler can be switched at run time:
// `down()` answers 503 to everything (the provider is down), `up({ kid })` serves a new
// provider instance signing with a new RSA key (a key rotation, as the keys are published
// again under a new `kid`).

import http from "node:http";
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

/** A new RSA signing key as a private JWK. */
function newKey(kid) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
}

function unavailable(req, res) {
  res.statusCode = 503;
  res.end("down for maintenance");
}

/**
 * Starts the provider (down until `up`); `client` is `{ client_id, client_secret,
 * redirect_uri }`.
 */
export async function startIdp(client) {
  let handler = unavailable;
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    down() {
      handler = unavailable;
    },
    up({ kid }) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: client.client_id,
            client_secret: client.client_secret,
            redirect_uris: [client.redirect_uri],
            response_types: ["code"],
            grant_types: ["authorization_code"],
            token_endpoint_auth_method: "client_secret_basic",
          },
        ],
        jwks: { keys: [newKey(kid)] },
        pkce: { required: () => true },
        // Scope claims in the ID token, as Google and Entra put them there.
        conformIdTokenClaims: false,
        claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
        cookies: { keys: ["handraise-test-cookie-key"] },
        features: { devInteractions: { enabled: true } },
        async findAccount(ctx, id) {
          return {
            accountId: id,
            async claims() {
              return { sub: id, email: id, email_verified: true, name: id.split("@")[0] };
            },
          };
        },
      });
      const callback = provider.callback();
      handler = (req, res) => callback(req, res);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
