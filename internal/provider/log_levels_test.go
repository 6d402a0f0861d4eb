package provider

import (
	"maps"
	"testing"
)

func TestLogLevelsFromTerraform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"terraform keeps no provider log", map[string]string{},
			map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_PROVIDER_IDPGATE": "OFF"}},
		{"TF_LOG", map[string]string{"TF_LOG": "debug"},
			map[string]string{"TF_LOG_SDK": "DEBUG", "TF_LOG_PROVIDER_IDPGATE": "DEBUG"}},
		{"TF_LOG_PROVIDER wins over TF_LOG", map[string]string{"TF_LOG": "TRACE", "TF_LOG_PROVIDER": "WARN"},
			map[string]string{"TF_LOG_SDK": "WARN", "TF_LOG_PROVIDER_IDPGATE": "WARN"}},
		{"JSON keeps everything", map[string]string{"TF_LOG": "JSON"},
			map[string]string{"TF_LOG_SDK": "TRACE", "TF_LOG_PROVIDER_IDPGATE": "TRACE"}},
		{"a level terraform does not know keeps everything", map[string]string{"TF_LOG": "verbose"},
			map[string]string{"TF_LOG_SDK": "TRACE", "TF_LOG_PROVIDER_IDPGATE": "TRACE"}},
		{"the user's own levels stay", map[string]string{"TF_LOG_SDK": "TRACE", "TF_LOG_PROVIDER_IDPGATE": "DEBUG"},
			map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := LogLevelsFromTerraform(func(k string) string { return tt.env[k] })
			if !maps.Equal(got, tt.want) {
				t.Errorf("LogLevelsFromTerraform(%v) = %v, want %v", tt.env, got, tt.want)
			}
		})
	}
}
