/**
 * Who holds a sync lease: `host/pid`. A process that finds the lease held by a process of the same
 * host that no longer exists (SIGKILL, crash) takes over at once instead of waiting for it to expire.
 */
import { hostname } from "node:os"

export const current = (): string => `${hostname()}/${process.pid}`

/** True only when the owner is a process of this host that is certainly gone. */
export const isDead = (owner: string | null): boolean => {
  if (owner === null) return false
  const slash = owner.lastIndexOf("/")
  if (slash < 0 || owner.slice(0, slash) !== hostname()) return false
  const pid = Number(owner.slice(slash + 1))
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return typeof error === "object" && error !== null && "code" in error && error.code === "ESRCH"
  }
}
