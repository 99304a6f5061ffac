export * as Sandbox from "./Sandbox.js"
