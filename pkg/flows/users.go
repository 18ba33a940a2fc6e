package flows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/similar"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// MaxUserPages bounds the pages of GET /v2/users read for a Directory, as
// MaxPagesPerOwner does for flows: 100,000 users at 100 a page.
const MaxUserPages = 1000

// User is what a Directory needs of a Gong user (GET /v2/users).
type User struct {
	ID           string
	EmailAddress string
	EmailAliases []string
	FirstName    string
	LastName     string
	Active       bool
}

// UserPage is one page of GET /v2/users: its users, the cursor of the next
// page ("" on the last) and the total the answer gives (0 if none).
type UserPage struct {
	Users        []User
	Cursor       string
	TotalRecords int
}

// ListUsers reads one page of the company's users; cursor is "" for the
// first. The caller adapts its Gong client's ListUsers to it.
type ListUsers func(ctx context.Context, cursor string) (UserPage, error)

// Directory finds the Gong user an owner cell names, by email, email alias
// or first and last name, so that a file exported with the record owner's
// name ("Contact owner": "Zoë Durand") can be enrolled. It lists the users
// once, on first use, and is safe for concurrent use.
type Directory struct {
	list ListUsers

	mu      sync.Mutex
	loaded  bool
	partial string // why the listing ended before its last page, or ""
	users   []User
	byName  map[string][]int // folded "first last" -> users
	byEmail map[string]int   // lower-case address or alias -> user
}

// NewDirectory returns a Directory that lists users through list.
func NewDirectory(list ListUsers) *Directory {
	return &Directory{list: list}
}

// Resolve returns the email of the one active user owner names: an email
// address (a user's own, or one of their aliases, which resolves to their
// address), or a first and last name ("Zoë Durand", also "Durand, Zoë"),
// case and accents ignored. When no active user or several match, email is
// "" and code (outcome.CodeOwnerNotFound, outcome.CodeOwnerAmbiguous) and msg say why,
// naming the candidates. err is the listing's error: not a row's fault.
//
// When the listing ended before its last page, only what the users read
// settle is answered: an active user's own address or alias, or a name
// several active users share. Anything else (a name one user has, which a
// user on a later page may share; a name or address not found) is an error
// wrapping ErrListingIncomplete.
func (d *Directory) Resolve(ctx context.Context, owner string) (email, code, msg string, err error) {
	if err := d.load(ctx); err != nil {
		return "", "", "", err
	}
	email, code, msg = d.resolve(strings.TrimSpace(owner))
	if d.partial != "" && !(email != "" && strings.Contains(owner, "@") || code == outcome.CodeOwnerAmbiguous) {
		return "", "", "", fmt.Errorf("%w: the Gong users (GET /v2/users): %s", ErrListingIncomplete, d.partial)
	}
	return email, code, msg, nil
}

// resolve is Resolve on the users listed.
func (d *Directory) resolve(owner string) (email, code, msg string) {
	if strings.Contains(owner, "@") {
		return d.byAddress(owner)
	}
	var active, inactive []User
	for _, i := range d.byName[fold(nameKey(owner))] {
		if u := d.users[i]; u.Active {
			active = append(active, u)
		} else {
			inactive = append(inactive, u)
		}
	}
	switch {
	case len(active) == 1:
		return active[0].EmailAddress, "", ""
	case len(active) > 1:
		return "", outcome.CodeOwnerAmbiguous, fmt.Sprintf("%d active Gong users are called %q: %s; give the owner's email instead", len(active), owner, describeUsers(active))
	case len(inactive) > 0:
		return "", outcome.CodeOwnerNotFound, fmt.Sprintf("the Gong user called %q is not active: %s; give an active owner", owner, describeUsers(inactive))
	}
	return "", outcome.CodeOwnerNotFound, fmt.Sprintf("no Gong user is called %q%s", owner, d.similar(owner))
}

func (d *Directory) byAddress(owner string) (email, code, msg string) {
	i, ok := d.byEmail[strings.ToLower(owner)]
	if !ok {
		return "", outcome.CodeOwnerNotFound, fmt.Sprintf("no Gong user has the email address or alias %q", owner)
	}
	u := d.users[i]
	if !u.Active {
		return "", outcome.CodeOwnerNotFound, fmt.Sprintf("the Gong user with %q is not active: %s; give an active owner", owner, describeUsers([]User{u}))
	}
	return u.EmailAddress, "", ""
}

// load lists every user once; a failed listing is tried again next time.
func (d *Directory) load(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loaded {
		return nil
	}
	users, partial, err := d.listAll(ctx)
	if err != nil {
		return err
	}
	d.users, d.partial = users, partial
	d.byName = map[string][]int{}
	d.byEmail = map[string]int{}
	for i, u := range users {
		k := fold(u.FirstName + " " + u.LastName)
		d.byName[k] = append(d.byName[k], i)
		for _, e := range append([]string{u.EmailAddress}, u.EmailAliases...) {
			if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
				if j, taken := d.byEmail[e]; !taken || !users[j].Active && u.Active {
					d.byEmail[e] = i
				}
			}
		}
	}
	d.loaded = true
	return nil
}

// listAll lists every user once.
func (d *Directory) listAll(ctx context.Context) (all []User, partial string, err error) {
	all, partial, err = ListAllUsers(ctx, d.list)
	if err != nil {
		return nil, "", fmt.Errorf("listing the Gong users: %w", err)
	}
	return all, partial, nil
}

// ListAllUsers follows the cursor of GET /v2/users as Catalog.listAll does
// for flows, each user once: partial says why the listing ended before its
// last page (the cursor repeated, MaxUserPages reached, the pages ran out
// short of Gong's total), or is "". err is the page's own. A Directory and the console's owner
// picker list through it.
func ListAllUsers(ctx context.Context, list ListUsers) (all []User, partial string, err error) {
	ids := map[string]bool{}
	seen := map[string]bool{"": true}
	cursor := ""
	for pages := 1; ; pages++ {
		if pages > MaxUserPages {
			return all, fmt.Sprintf("still not at the end after %d pages (%d users)", MaxUserPages, len(all)), nil
		}
		page, err := list(ctx, cursor)
		if err != nil {
			return nil, "", err
		}
		for _, u := range page.Users {
			if !ids[u.ID] || u.ID == "" {
				ids[u.ID] = true
				all = append(all, u)
			}
		}
		if why := pageEnd(len(page.Users), len(all), page.TotalRecords, page.Cursor, seen); why != "more" {
			return all, why, nil
		}
		seen[page.Cursor] = true
		cursor = page.Cursor
	}
}

// UserPageOf is what a Directory needs of Gong's answer to GET /v2/users.
func UserPageOf(r *gong.UsersResponse) UserPage {
	p := UserPage{Cursor: r.Records.Cursor, TotalRecords: r.Records.TotalRecords}
	for _, u := range r.Users {
		p.Users = append(p.Users, User{ID: u.ID, EmailAddress: u.EmailAddress, EmailAliases: u.EmailAliases,
			FirstName: u.FirstName, LastName: u.LastName, Active: u.Active})
	}
	return p
}

// GongUsers adapts a Gong client's ListUsers to ListUsers.
func GongUsers(list func(ctx context.Context, cursor string) (*gong.UsersResponse, error)) ListUsers {
	return func(ctx context.Context, cursor string) (UserPage, error) {
		page, err := list(ctx, cursor)
		if err != nil {
			return UserPage{}, err
		}
		return UserPageOf(page), nil
	}
}

// similar names up to three active users whose names are nearest owner.
func (d *Directory) similar(owner string) string {
	want := []rune(fold(nameKey(owner)))
	type near struct {
		u    User
		dist int
	}
	var cands []near
	for _, u := range d.users {
		if !u.Active {
			continue
		}
		dist := similar.Distance(want, []rune(fold(u.FirstName+" "+u.LastName)))
		if dist <= max(2, len(want)/3) {
			cands = append(cands, near{u, dist})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var us []User
	for _, c := range cands[:min(len(cands), maxSuggestions)] {
		us = append(us, c.u)
	}
	if len(us) == 0 {
		return ""
	}
	return "; similar: " + describeUsers(us)
}

func describeUsers(us []User) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = fmt.Sprintf("%s %s <%s>", u.FirstName, u.LastName, u.EmailAddress)
	}
	return strings.Join(s, ", ")
}

// nameKey turns "Durand, Zoë" into "Zoë Durand", as the user list has it.
func nameKey(name string) string {
	if last, first, ok := strings.Cut(name, ","); ok {
		return strings.TrimSpace(first) + " " + strings.TrimSpace(last)
	}
	return name
}

// fold makes a name comparable: lower case, accents taken off ("Zoë" is
// "zoe"), runs of spaces made one.
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.Join(strings.Fields(strings.ToLower(out)), " ")
}
