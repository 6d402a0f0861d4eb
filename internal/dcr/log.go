package dcr

import "context"

// Logger receives what the client does, for the caller to route (the provider sends it to
// tflog). Messages and fields carry methods, URLs, status codes and attempt counts, never a
// request or answer body, a header or a credential.
type Logger func(ctx context.Context, level Level, msg string, fields map[string]any)

// Level of a log entry.
type Level int

const (
	LevelDebug Level = iota
	LevelWarn
)

func (l Logger) debug(ctx context.Context, msg string, fields map[string]any) {
	if l != nil {
		l(ctx, LevelDebug, msg, fields)
	}
}

func (l Logger) warn(ctx context.Context, msg string, fields map[string]any) {
	if l != nil {
		l(ctx, LevelWarn, msg, fields)
	}
}
