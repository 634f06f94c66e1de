// A real OpenID provider for the console's and the web report page's sign-in tests: the certified `oidc-provider`
// package on 127.0.0.1 port 0, with its development login form (any login, any password:
// the login typed becomes the account's email). Its handler can be switched at run time:
// `down()` answers 503 to everything (the provider is down), `up({ kid })` serves a new
// provider instance signing with a new RSA key (a key rotation, as the keys are published
// again under a new `kid`).

import http from "node:http";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { appendFile, chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Provider from "oidc-provider";
import { ServerCli, listeningUrl, sleep } from "../js/harness.mjs";

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

/** A port nothing listens on right now (the server's redirect URL must name it up front). */
export async function freePort() {
  const s = net.createServer();
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * A new data directory whose `config.toml` has an `[oidc]` table naming `idp` for `client`
 * (the secret in a 0600 file) and the `extra` lines (`allowed_domains = […]`, …), and
 * `handraise-server serve` on it at `baseUrl` (whose port was free); `beforeServe(cli)` runs
 * first. Resolves with `{ child, cli, dataDir }`; `stopServer` ends it.
 */
export async function serveWithOidc({ idp, client, baseUrl, extra, beforeServe }) {
  const dataDir = await mkdtemp(path.join(tmpdir(), "hr-oidc-server-"));
  const cli = new ServerCli(dataDir);
  await cli.init();
  const secretFile = path.join(dataDir, "oidc-client-secret");
  await writeFile(secretFile, client.client_secret + "\n");
  await chmod(secretFile, 0o600);
  await appendFile(
    path.join(dataDir, "config.toml"),
    [
      "",
      "[oidc]",
      `issuer = "${idp.issuer}"`,
      `client_id = "${client.client_id}"`,
      `client_secret_file = ${JSON.stringify(secretFile)}`,
      `redirect_url = "${baseUrl}/auth/callback"`,
      ...extra,
      "",
    ].join("\n"),
  );
  if (beforeServe) await beforeServe(cli);
  const port = new URL(baseUrl).port;
  const child = spawn(cli.bin, ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  child.stderr.on("data", (d) => process.stderr.write(d));
  await listeningUrl(child);
  child.stdout.resume();
  return { child, cli, dataDir };
}

/** Stops what `serveWithOidc` started and removes its data directory. */
export async function stopServer({ child, dataDir } = {}) {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
