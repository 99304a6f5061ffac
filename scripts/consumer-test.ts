/**
 * `pnpm test:consumer`: the packages as a user gets them.
 *
 * Packs every publishable package, installs the tarballs into fresh folders outside the workspace
 * (npm, then pnpm) with the README's install lines, with an effect patch release other than the one
 * the workspace pins; checks the tarballs (dist only, internals not importable) and that one copy of
 * effect is installed; type-checks the README's programs under the strictest common flags with
 * `skipLibCheck: false`; runs them with plain `node` against the sandbox started from the packed
 * sandbox's own bin: a sync into a SQLite file, a local query, a 404 handled as a typed error, then
 * a read answered with the sandbox stopped.
 *
 * Ends with `consumer: N passed, N failed`. Flags: `--no-build` (use the existing dist/),
 * `--keep` (leave the temp folders), `--json <file>` (counts for .ci/run), `--npm-only`.
 */
import type { ChildProcess } from "node:child_process"
import { execFileSync, spawn } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined

// -- reporting -------------------------------------------------------------------------------------

const results: Array<{ readonly name: string; readonly ok: boolean }> = []

const check = async (name: string, body: () => unknown): Promise<boolean> => {
  console.log(`\n== ${name}`)
  const start = Date.now()
  try {
    await body()
    results.push({ name, ok: true })
    console.log(`ok: ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`)
    return true
  } catch (error) {
    results.push({ name, ok: false })
    console.log(`FAILED: ${name}\n${error instanceof Error ? error.message : String(error)}`)
    return false
  }
}

/** A check that cannot run because an earlier one failed still counts, as failed. */
const blocked = (name: string, because: string) => {
  results.push({ name, ok: false })
  console.log(`\n== ${name}\nFAILED (not run: ${because})`)
}

const assert: (condition: unknown, message: string) => asserts condition = (condition, message) => {
  if (!condition) throw new Error(message)
}

// -- processes -------------------------------------------------------------------------------------

interface RunOptions {
  readonly cwd: string
  readonly env?: Readonly<Record<string, string>>
  readonly quiet?: boolean
}

/** Run a command to completion, echoing it; throws with the output's tail when it fails. */
const run = (command: string, argv: ReadonlyArray<string>, options: RunOptions): string => {
  console.log(`$ ${[command, ...argv].join(" ")}    (in ${options.cwd})`)
  try {
    const out = execFileSync(command, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024
    })
    if (options.quiet !== true && out.trim() !== "") console.log(out.trimEnd())
    return out
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string }
    const tail = `${e.stdout ?? ""}\n${e.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n")
    throw new Error(`exit ${e.status ?? "?"}: ${command} ${argv.join(" ")}\n${tail}`)
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

interface StartedSandbox {
  readonly child: ChildProcess
  readonly baseUrl: string
  readonly adminKey: string
  readonly stop: () => Promise<void>
}

/** `lightfield-sandbox --port P --seed N` from the app's node_modules/.bin; waits for its keys. */
const startSandbox = async (app: string, meetings: number): Promise<StartedSandbox> => {
  const port = await freePort()
  const bin = join(app, "node_modules", ".bin", "lightfield-sandbox")
  const argv = ["--port", String(port), "--seed", "7", "--meetings", String(meetings), "--rate", "0"]
  console.log(`$ ${relative(app, bin)} ${argv.join(" ")}    (in ${app}, in the background)`)
  const child = spawn(bin, argv, { cwd: app, stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const started = await new Promise<{ baseUrl: string; adminKey: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox printed no keys within 30 s:\n${out}`)), 30_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const url = /listening on (http:\/\/\S+)/.exec(out)
      const admin = /^\s*admin\s+(sk_lf_\S+)/m.exec(out)
      if (url?.[1] !== undefined && admin?.[1] !== undefined && /Ctrl-C/.test(out)) {
        clearTimeout(timer)
        resolve({ baseUrl: url[1], adminKey: admin[1] })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the sandbox exited (${code}) before listening:\n${out}`))
    })
  })
  console.log(out.trimEnd())
  return {
    child,
    ...started,
    stop: async () => {
      child.kill("SIGINT")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }
}

// -- the README ------------------------------------------------------------------------------------

/** Blocks preceded by `<!-- consumer: NAME -->`: the install lines and the programs. */
const readmeBlocks = (): Map<string, string> => {
  const text = readFileSync(join(root, "README.md"), "utf8")
  const blocks = new Map<string, string>()
  for (const match of text.matchAll(/<!-- consumer: (\S+) -->\s*\n```\w*\n([\s\S]*?)```/g)) {
    blocks.set(match[1]!, match[2]!)
  }
  return blocks
}

/** `npm install [--save-dev] a b@^1 …` → the package specs. */
const installSpecs = (line: string): ReadonlyArray<string> => {
  const words = line.trim().split(/\s+/)
  assert(words[0] === "npm" && words[1] === "install", `not an npm install line: ${line}`)
  return words.slice(2).filter((w) => !w.startsWith("-"))
}

// -- versions --------------------------------------------------------------------------------------

const parse = (v: string) => v.split(".").map(Number) as [number, number, number]
const compare = (a: string, b: string) => {
  const [x, y] = [parse(a), parse(b)]
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
}

/** The newest release in the peer range `^min` (same major) other than the workspace's pin. */
const otherPatchOfEffect = (peerRange: string, pinned: string): string => {
  const min = peerRange.replace(/^\^/, "")
  const versions = JSON.parse(run("npm", ["view", "effect", "versions", "--json"], { cwd: root, quiet: true })) as
    ReadonlyArray<string>
  const candidates = versions.filter((v) =>
    /^\d+\.\d+\.\d+$/.test(v) && parse(v)[0] === parse(min)[0] && compare(v, min) >= 0 && v !== pinned
  ).sort(compare)
  const chosen = candidates.at(-1)
  assert(chosen !== undefined, `no effect release in ${peerRange} other than ${pinned}`)
  return chosen
}

// -- the steps -------------------------------------------------------------------------------------

interface Workspace {
  readonly publishable: ReadonlyArray<{ readonly name: string; readonly dir: string }>
  readonly effectPin: string
  readonly effectPeer: string
}

const readWorkspace = (): Workspace => {
  const publishable = readdirSync(join(root, "packages")).flatMap((dir) => {
    const manifest = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) as {
      name: string
      private?: boolean
    }
    return manifest.private === true ? [] : [{ name: manifest.name, dir: join(root, "packages", dir) }]
  })
  const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>
  }
  const core = JSON.parse(readFileSync(join(root, "packages", "core", "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>
  }
  return {
    publishable,
    effectPin: rootManifest.devDependencies["effect"]!,
    effectPeer: core.peerDependencies["effect"]!
  }
}

/** Files a tarball holds (`tar tzf`), without the `package/` prefix. */
const tarballFiles = (tarball: string) =>
  execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n").map((f) => f.replace(/^package\//, ""))

const checkTarball = (tarball: string) => {
  const files = tarballFiles(tarball)
  const unexpected = files.filter((f) => !(f === "package.json" || f === "README.md" || f.startsWith("dist/")))
  assert(unexpected.length === 0, `files outside dist/: ${unexpected.join(", ")}`)
  const sources = files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  assert(sources.length === 0, `TypeScript sources: ${sources.join(", ")}`)
  const tests = files.filter((f) => /(^|\/)test\/|\.test\.|\.spec\./.test(f))
  assert(tests.length === 0, `test files: ${tests.join(", ")}`)
  assert(files.includes("dist/index.js") && files.includes("dist/index.d.ts"), "no dist/index.js + dist/index.d.ts")
  const manifest = JSON.parse(execFileSync("tar", ["xzf", tarball, "-O", "package/package.json"], { encoding: "utf8" }))
  const text = JSON.stringify(manifest)
  assert(!text.includes("workspace:"), "the packed manifest still names workspace: ranges")
  assert(!text.includes("./src/"), "the packed manifest points into src/")
  assert(manifest.exports?.["./internal/*"] === null, "./internal/* is not blocked in exports")
  console.log(`${files.length} files, all under dist/; exports: ${Object.keys(manifest.exports).join(" ")}`)
}

const programs = ["src/app.ts", "src/offline.ts"] as const

const internalModule = (dir: string): string => {
  const files = (() => {
    try {
      return readdirSync(join(dir, "dist", "internal")).filter((f) => f.endsWith(".js"))
    } catch {
      return []
    }
  })()
  return files[0]?.replace(/\.js$/, "") ?? "index"
}

/** A fresh app folder: package.json, the strict tsconfig and the README's programs. */
const scaffold = (dir: string, blocks: Map<string, string>, extra: Record<string, unknown> = {}) => {
  mkdirSync(join(dir, "src"), { recursive: true })
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "lightfield-consumer", version: "1.0.0", private: true, type: "module", ...extra }, null, 2)
  )
  copyFileSync(join(root, "consumer", "tsconfig.json"), join(dir, "tsconfig.json"))
  for (const program of programs) writeFileSync(join(dir, program), blocks.get(program)!)
}

/** The README's specs with the tarballs for our packages and the chosen effect version. */
const resolveSpecs = (specs: ReadonlyArray<string>, tarballs: Map<string, string>, effect: string) =>
  specs.map((spec) => {
    const name = spec.startsWith("@") ? `@${spec.slice(1).split("@")[0]}` : spec.split("@")[0]!
    if (tarballs.has(name)) return tarballs.get(name)!
    if (name === "effect") return `effect@${effect}`
    return spec
  })

/** Run the programs: sync + query + 404 online, then a read with the sandbox stopped. */
const runPrograms = async (label: string, app: string, meetings: number) => {
  const db = join(app, "meetings.db")
  let sandbox: StartedSandbox | undefined
  const online = await check(`${label}: node dist/app.js against the packed sandbox's bin (sync, query, 404)`, async () => {
    sandbox = await startSandbox(app, meetings)
    const env = { LIGHTFIELD_API_KEY: sandbox.adminKey, LIGHTFIELD_BASE_URL: sandbox.baseUrl, LIGHTFIELD_CACHE_PATH: db }
    const out = run("node", ["dist/app.js"], { cwd: app, env })
    assert(new RegExp(`synced ${meetings} meetings in \\d+ pages`).test(out), `no "synced ${meetings} meetings" line`)
    assert((out.match(/\bmtg_\w+: /g) ?? []).length === 3, "the local query did not log 3 meetings")
    assert(/not found, as expected: /.test(out), "the 404 was not handled as MeetingNotFound")
  })
  if (sandbox !== undefined) await sandbox.stop()
  const offlineName = `${label}: node dist/offline.js with the sandbox stopped`
  if (!online) return blocked(offlineName, "the online run failed")
  await check(offlineName, () => {
    const out = run("node", ["dist/offline.js"], {
      cwd: app,
      env: { LIGHTFIELD_API_KEY: sandbox!.adminKey, LIGHTFIELD_BASE_URL: sandbox!.baseUrl, LIGHTFIELD_CACHE_PATH: db }
    })
    assert(/mtg_\w+ served from the cache/.test(out), "the read was not served from the cache")
  })
}

const main = async () => {
  const started = Date.now()
  const workspace = readWorkspace()
  const temp = mkdtempSync(join(tmpdir(), "lightfield-consumer-"))
  const tarballDir = join(temp, "tarballs")
  mkdirSync(tarballDir)
  console.log(`consumer test in ${temp} (outside the workspace ${root})`)

  if (!flag("--no-build")) await check("pnpm build", () => run("pnpm", ["-s", "build"], { cwd: root, quiet: true }))

  const blocks = readmeBlocks()
  const readmeOk = await check("README: install lines and programs found", () => {
    for (const name of ["install", "install-dev", ...programs]) assert(blocks.has(name), `no <!-- consumer: ${name} --> block`)
  })

  const tarballs = new Map<string, string>()
  for (const pkg of workspace.publishable) {
    await check(`pack ${pkg.name}`, () => {
      const before = new Set(readdirSync(tarballDir))
      run("pnpm", ["pack", "--pack-destination", tarballDir], { cwd: pkg.dir, quiet: true })
      const tarball = readdirSync(tarballDir).find((f) => !before.has(f))
      assert(tarball !== undefined, "pnpm pack wrote no tarball")
      tarballs.set(pkg.name, join(tarballDir, tarball))
      checkTarball(join(tarballDir, tarball))
    })
  }

  let effect = ""
  const versionOk = await check("an effect release in range other than the workspace's", () => {
    effect = otherPatchOfEffect(workspace.effectPeer, workspace.effectPin)
    console.log(`workspace pins effect ${workspace.effectPin}; peer range ${workspace.effectPeer}; the consumer gets ${effect}`)
  })

  const ready = readmeOk && versionOk && tarballs.size === workspace.publishable.length
  const meetings = 40

  // -- npm ---------------------------------------------------------------------------------------
  const npmApp = join(temp, "npm-app")
  const npmNames = ["npm install", "npm ls effect: one copy", "internals are not importable", "tsc (strict, skipLibCheck false)"]
  if (!ready) {
    for (const name of npmNames) blocked(`npm: ${name}`, "packing or the README failed")
  } else {
    scaffold(npmApp, blocks)
    const installed = await check("npm: npm install (the README's lines, our tarballs)", () => {
      run("npm", ["install", "--no-audit", "--no-fund", ...resolveSpecs(installSpecs(blocks.get("install")!), tarballs, effect)], {
        cwd: npmApp
      })
      run("npm", ["install", "--no-audit", "--no-fund", "--save-dev", ...resolveSpecs(installSpecs(blocks.get("install-dev")!), tarballs, effect)], {
        cwd: npmApp
      })
    })
    if (!installed) {
      for (const name of npmNames.slice(1)) blocked(`npm: ${name}`, "npm install failed")
      blocked("npm: run the programs", "npm install failed")
    } else {
      await check("npm: npm ls effect: one copy", () => {
        run("npm", ["ls", "effect"], { cwd: npmApp })
        const paths = run("npm", ["ls", "effect", "--all", "--parseable"], { cwd: npmApp, quiet: true }).trim().split("\n")
        const unique = [...new Set(paths.filter((p) => p.trim() !== ""))]
        assert(unique.length === 1, `${unique.length} copies of effect:\n${unique.join("\n")}`)
        const version = (JSON.parse(readFileSync(join(unique[0]!, "package.json"), "utf8")) as { version: string }).version
        assert(version === effect, `effect ${version} installed, ${effect} expected`)
        console.log(`one copy: ${relative(npmApp, unique[0]!)} (${version})`)
      })
      await check("npm: internals are not importable; public modules are", () => {
        for (const pkg of workspace.publishable) {
          // The first file under dist/internal/ (a real module), or a name for a package without internals.
          const internal = `${pkg.name}/internal/${internalModule(pkg.dir)}`
          const script = `await import(${JSON.stringify(pkg.name)}); ` +
            `await import(${JSON.stringify(internal)}).then(() => console.log("imported"), (e) => console.log(e.code))`
          const out = run("node", ["--input-type=module", "-e", script], { cwd: npmApp, quiet: true }).trim()
          assert(out === "ERR_PACKAGE_PATH_NOT_EXPORTED", `import("${internal}"): ${out}`)
          console.log(`import("${internal}"): ${out}`)
        }
        run("node", ["--input-type=module", "-e", "await import('@lightfield-effect/core/Meeting')"], { cwd: npmApp, quiet: true })
      })
      const typed = await check("npm: tsc (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, noPropertyAccessFromIndexSignature, skipLibCheck false)", () => {
        run(join(npmApp, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: npmApp })
      })
      if (typed) await runPrograms("npm", npmApp, meetings)
      else blocked("npm: run the programs", "tsc failed")
    }
  }

  // -- pnpm --------------------------------------------------------------------------------------
  if (!flag("--npm-only")) {
    const pnpmApp = join(temp, "pnpm-app")
    if (!ready) {
      blocked("pnpm: pnpm add, tsc, run", "packing or the README failed")
    } else {
      scaffold(pnpmApp, blocks, { pnpm: { onlyBuiltDependencies: ["better-sqlite3"] } })
      const installed = await check("pnpm: pnpm add (the README's lines, our tarballs)", () => {
        run("pnpm", ["add", ...resolveSpecs(installSpecs(blocks.get("install")!), tarballs, effect)], { cwd: pnpmApp })
        run("pnpm", ["add", "--save-dev", ...resolveSpecs(installSpecs(blocks.get("install-dev")!), tarballs, effect)], {
          cwd: pnpmApp
        })
      })
      if (!installed) {
        blocked("pnpm: one copy of effect, tsc, run", "pnpm add failed")
      } else {
        await check("pnpm: one copy of effect", () => {
          const copies = readdirSync(join(pnpmApp, "node_modules", ".pnpm")).filter((d) => /^effect@\d/.test(d))
          assert(copies.length === 1 && copies[0] === `effect@${effect}`, `copies of effect: ${copies.join(", ")}`)
          console.log(`one copy: node_modules/.pnpm/${copies[0]}`)
        })
        const typed = await check("pnpm: tsc (same flags)", () => {
          run(join(pnpmApp, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: pnpmApp })
        })
        if (typed) await runPrograms("pnpm", pnpmApp, meetings)
        else blocked("pnpm: run the programs", "tsc failed")
      }
    }
  }

  if (!flag("--keep")) rmSync(temp, { recursive: true, force: true })
  const passed = results.filter((r) => r.ok).length
  const failed = results.length - passed
  if (jsonOut !== undefined) {
    writeFileSync(jsonOut, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numFailedTestSuites: 0 }))
  }
  console.log(`\nconsumer test took ${((Date.now() - started) / 1000).toFixed(0)} s`)
  for (const r of results) console.log(`  ${r.ok ? "pass" : "FAIL"}  ${r.name}`)
  console.log(`consumer: ${passed} passed, ${failed} failed`)
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1
}

await main()
