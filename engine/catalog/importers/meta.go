package importers

import (
	"regexp"
	"strings"
)

// Categories is StackHub's fixed list of catalog categories.
var Categories = []string{"cms", "collaboration", "devops", "database", "monitoring", "storage", "media",
	"communication", "analytics", "productivity", "security", "networking", "smart-home", "education",
	"business", "developer-tools"}

// DefaultCategory is used when a store's category has no counterpart.
const DefaultCategory = "productivity"

// Category maps the first of a store's categories found in table (keys
// lower-case) to a StackHub category, with a note when none matched.
func Category(table map[string]string, store string, cats ...string) (string, string) {
	for _, c := range cats {
		if ours, ok := table[strings.ToLower(strings.TrimSpace(c))]; ok {
			return ours, ""
		}
	}
	if len(cats) == 0 {
		return DefaultCategory, "the store gives no category; " + DefaultCategory + " is used"
	}
	return DefaultCategory, "the category " + strings.Join(cats, ", ") + " has no StackHub counterpart; " + DefaultCategory + " is used"
}

// Fill returns t with a missing language taken from the other one, and
// the note to report when that happened.
func (t Text) Fill() (Text, string) {
	t.En, t.Zh = strings.TrimSpace(t.En), strings.TrimSpace(t.Zh)
	switch {
	case t.En != "" && t.Zh == "":
		t.Zh = t.En
		return t, "the store has no Chinese text; the English text is used for both languages"
	case t.Zh != "" && t.En == "":
		t.En = t.Zh
		return t, "the store has no English text; the Chinese text is used for both languages"
	}
	return t, ""
}

// ImageTag returns an image reference's tag ("latest" when it has none).
func ImageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}

var hostRE = regexp.MustCompile(`^[^/]+[.:][^/]*/`)

// ImagePage returns the web page of an image's repository, the fallback
// homepage of apps whose store names none.
func ImagePage(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	switch {
	case image == "":
		return ""
	case hostRE.MatchString(image):
		return "https://" + image
	case !strings.Contains(image, "/"):
		return "https://hub.docker.com/_/" + image
	}
	return "https://hub.docker.com/r/" + image
}

// SecretName is the secret whose compose variable is env: lower-cased.
// Env names that are not upper-case need a Vars.Replace to the
// upper-cased form.
func SecretName(env string) string {
	return strings.ToLower(env)
}

// TimeZone is the parameter stores' TZ variable becomes.
func TimeZone() Param {
	var utc any = "Etc/UTC"
	return Param{Name: "tz", Env: "TZ", Description: "Time zone of the app", Default: utc}
}

// Uses tells whether a compose file refers to the variable name.
func Uses(raw []byte, name string) bool {
	return regexp.MustCompile(`\$\{?` + regexp.QuoteMeta(name) + `\b`).Match(raw)
}

// NonEmpty returns the values that are not blank.
func NonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

// FirstNonEmpty returns the first value that is not blank.
func FirstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
