// The cache package: filled in by the cache issue.
export {}
