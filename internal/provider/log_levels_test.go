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
			levels("OFF", "OFF", "OFF")},
		{"TF_LOG", map[string]string{"TF_LOG": "debug"},
			levels("DEBUG", "DEBUG", "DEBUG")},
		{"TF_LOG_PROVIDER wins over TF_LOG", map[string]string{"TF_LOG": "TRACE", "TF_LOG_PROVIDER": "WARN"},
			levels("WARN", "WARN", "WARN")},
		{"JSON keeps everything", map[string]string{"TF_LOG": "JSON"},
			levels("TRACE", "TRACE", "TRACE")},
		{"a level terraform does not know keeps everything", map[string]string{"TF_LOG": "verbose"},
			levels("TRACE", "TRACE", "TRACE")},
		{"the user's own levels stay", map[string]string{"TF_LOG_SDK": "TRACE", "TF_LOG_PROVIDER_IDPGATE": "DEBUG",
			"TF_LOG_SDK_FRAMEWORK": "INFO", "TF_LOG_SDK_PROTO": "ERROR"},
			map[string]string{}},
		{"subsystems follow the user's TF_LOG_SDK", map[string]string{"TF_LOG_SDK": "DEBUG"},
			map[string]string{"TF_LOG_PROVIDER_IDPGATE": "OFF", "TF_LOG_SDK_FRAMEWORK": "DEBUG", "TF_LOG_SDK_PROTO": "DEBUG"}},
		{"a subsystem the user set stays", map[string]string{"TF_LOG": "WARN", "TF_LOG_SDK_FRAMEWORK": "TRACE"},
			map[string]string{"TF_LOG_SDK": "WARN", "TF_LOG_PROVIDER_IDPGATE": "WARN", "TF_LOG_SDK_PROTO": "WARN"}},
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

// levels is what LogLevelsFromTerraform sets when the user set none of the variables.
func levels(sdk, provider, subsystems string) map[string]string {
	return map[string]string{"TF_LOG_SDK": sdk, "TF_LOG_PROVIDER_IDPGATE": provider,
		"TF_LOG_SDK_FRAMEWORK": subsystems, "TF_LOG_SDK_PROTO": subsystems}
}
