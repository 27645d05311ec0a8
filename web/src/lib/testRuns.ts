// A RunInfo for unit tests: a finished run with nothing in it but what `extra` sets.

import type { RunInfo } from "../api/schema";

export function testRun(id: string, extra: Partial<RunInfo> = {}): RunInfo {
  return {
    entity: "e", project: "p", run_id: id, name: id, state: "finished", notes: null, tags: [], group: "",
    job_type: "", host: null, config: {}, summary: {}, metadata: {}, branch: null, exit_code: 0, created_at: 100,
    updated_at: 200, heartbeat_at: 200, last_seq: 1, ...extra,
  };
}
