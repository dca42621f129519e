package app

import (
	"testing"
	"testing/fstest"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
		ok    bool
	}{
		{"v2 limit", map[string]string{"memory.max": "2147483648\n"}, 2147483648, true},
		{"v2 no limit", map[string]string{"memory.max": "max\n"}, 0, false},
		{"v2 wins over v1", map[string]string{"memory.max": "1073741824\n", "memory/memory.limit_in_bytes": "4294967296\n"}, 1073741824, true},
		{"v2 unlimited does not fall back to v1", map[string]string{"memory.max": "max\n", "memory/memory.limit_in_bytes": "4294967296\n"}, 0, false},
		{"v1 limit", map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, 536870912, true},
		{"v1 no limit", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"garbage", map[string]string{"memory.max": "lots\n"}, 0, false},
		{"zero", map[string]string{"memory.max": "0\n"}, 0, false},
		{"no cgroup files", map[string]string{"cgroup.procs": "1\n"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, ok := cgroupMemoryLimit(fsys)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("cgroupMemoryLimit = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
