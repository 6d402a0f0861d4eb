package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The change log lets a replica on Redis catch up with another replica's writes by reading
// only the objects they changed. Every commit INCRs the version and records, in the sorted
// set <prefix>{config}:changes scored by that version, which objects it wrote:
// "<version>|api:<id> policy:<id> ..." or "<version>|*" when it emptied tables (an import).
// The newest changeLogLength entries are kept; a replica further behind reloads.
const changeLogLength = 10000

// commitScript INCRs the version and logs the commit's entry under it, atomically (it runs
// inside the commit's MULTI).
var commitScript = redis.NewScript(`
local v = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], v, v .. '|' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
return v
`)

// changesScript returns the current version, then, when every version after ARGV[1] up to it
// is logged and none emptied tables, the kind, id and stored value (false once deleted) of
// each object they wrote, read in the same atomic step.
var changesScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
local entries = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, v)
if v < since or #entries ~= v - since then return {v, 'gap'} end
local out = {v, 'ok'}
local seen = {}
for _, e in ipairs(entries) do
  local body = string.sub(e, string.find(e, '|', 1, true) + 1)
  if body == '*' then return {v, 'gap'} end
  for obj in string.gmatch(body, '%S+') do
    if not seen[obj] then
      seen[obj] = true
      local kind, id = string.match(obj, '^(%a+):(.+)$')
      local hash = KEYS[3]
      if kind == 'policy' then hash = KEYS[4] end
      table.insert(out, kind)
      table.insert(out, id)
      table.insert(out, redis.call('HGET', hash, id))
    end
  end
end
return out
`)

// Changed is the stored state of one object a write changed: API or Policy, nil once
// deleted (then the id says which).
type Changed struct {
	APIID    string
	API      *adminapi.API
	PolicyID string
	Policy   *adminapi.Policy
}

// ErrNoChangeLog is ChangesSince's answer when the changes cannot be read one by one (a
// store without a change log, versions no longer logged, an import): read everything.
var ErrNoChangeLog = errors.New("the changes since this version are not logged")

// ChangesSince returns the current version and the current state of every object written
// after version since, read in one atomic step, or ErrNoChangeLog.
func (s *Store) ChangesSince(since int64) (int64, []Changed, error) {
	rb, ok := s.b.(*redisBackend)
	if !ok {
		return 0, nil, ErrNoChangeLog
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	res, err := changesScript.Run(ctx, rb.client,
		[]string{rb.verKey, rb.changesKey(), rb.key(tableAPIs), rb.key(tablePolicies)}, since).Slice()
	if err != nil {
		return 0, nil, rb.unavailable(err)
	}
	if len(res) < 2 || res[1] != "ok" {
		return 0, nil, ErrNoChangeLog
	}
	v, _ := res[0].(int64)
	var out []Changed
	for i := 2; i+2 < len(res); i += 3 {
		kind, _ := res[i].(string)
		id, _ := res[i+1].(string)
		raw, _ := res[i+2].(string) // nil (deleted) reads as ""
		var c Changed
		switch kind {
		case "api":
			c.APIID = id
			if raw != "" {
				c.API = new(adminapi.API)
				err = json.Unmarshal([]byte(raw), c.API)
			}
		case "policy":
			c.PolicyID = id
			if raw != "" {
				c.Policy = new(adminapi.Policy)
				err = json.Unmarshal([]byte(raw), c.Policy)
			}
		default:
			return 0, nil, ErrNoChangeLog
		}
		if err != nil {
			return 0, nil, fmt.Errorf("decoding stored object %s: %w", id, err)
		}
		out = append(out, c)
	}
	return v, out, nil
}

func (b *redisBackend) changesKey() string { return b.prefix + "{config}:changes" }

// logEntry says which objects a transaction wrote, for the change log.
func (t *redisTxn) logEntry() string {
	if len(t.cleared) > 0 {
		return "*"
	}
	var objs []string
	for _, tb := range []table{tableAPIs, tablePolicies} {
		kind := "api:"
		if tb == tablePolicies {
			kind = "policy:"
		}
		for id := range t.overlay[tb] {
			objs = append(objs, kind+id)
		}
	}
	return strings.Join(objs, " ")
}
