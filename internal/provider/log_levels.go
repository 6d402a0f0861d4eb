package provider

import "strings"

// Environment variables of terraform-plugin-log: the level of the SDK's loggers (the
// framework's and terraform-plugin-go's, which inherit it unless their own variable is set)
// and of this provider's logger (tflog).
const (
	envSDKLogLevel      = "TF_LOG_SDK"
	envProviderLogLevel = "TF_LOG_PROVIDER_IDPGATE"
)

// The SDK's subsystem loggers: the framework's and terraform-plugin-go's protocol logger.
// Left unset, each inherits TF_LOG_SDK's level inside hclog, but terraform-plugin-log's
// cheap "would this level log?" check then always says yes: every framework trace line pays
// for merging its fields and applying the provider's masks before hclog drops it (6% of the
// provider's CPU in make bench-provider). Setting their level explicitly, to the level they
// would inherit, lets that check return before any of it.
var envSDKSubsystemLogLevels = []string{"TF_LOG_SDK_FRAMEWORK", "TF_LOG_SDK_PROTO"}

// LogLevelsFromTerraform returns the levels to set (variable → level) so that the provider
// logs nothing finer than what Terraform keeps of a provider's logs: TF_LOG_PROVIDER, else
// TF_LOG, and nothing when neither is set. A level the user set for the provider's loggers
// is left alone.
//
// Why: the SDK's loggers default to TRACE, whatever Terraform keeps. The framework then
// writes dozens of JSON lines per resource and RPC to stderr, which terraform decodes one by
// one only to drop them when TF_LOG is unset: a third of the provider's CPU, and as much
// again in terraform, in an apply of 300 resources (make bench-provider).
func LogLevelsFromTerraform(getenv func(string) string) map[string]string {
	kept := strings.ToUpper(strings.TrimSpace(getenv("TF_LOG_PROVIDER")))
	if kept == "" {
		kept = strings.ToUpper(strings.TrimSpace(getenv("TF_LOG")))
	}
	switch kept {
	case "":
		kept = "OFF"
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF":
	default:
		// JSON, or a value terraform does not know: terraform keeps everything then.
		kept = "TRACE"
	}
	set := map[string]string{}
	for _, v := range []string{envSDKLogLevel, envProviderLogLevel} {
		if getenv(v) == "" {
			set[v] = kept
		}
	}
	sdk := getenv(envSDKLogLevel)
	if sdk == "" {
		sdk = kept
	}
	for _, v := range envSDKSubsystemLogLevels {
		if getenv(v) == "" {
			set[v] = sdk
		}
	}
	return set
}
