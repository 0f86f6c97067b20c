package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// media emulates CSS media type m ("print"; "" for the screen again).
func (p *tab) media(m string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, func(ctx context.Context, t *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
	})
	if err != nil {
		p.t.Fatalf("emulating %q media: %v", m, err)
	}
}

// display is the computed display of the first element matching sel.
func (p *tab) display(sel string) string {
	p.t.Helper()
	return eval[string](p, `(() => { const e = document.querySelector(`+quote(sel)+`); return e ? getComputedStyle(e).display : "missing" })()`)
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// money: Riverside's front desk takes a payment on an issued invoice and opens its printable receipt, whose print layout
// leaves the navigation off (print media emulated: the nav is
// display:none) and names the clinic; then the patient's statement; the
// owner reads the audit log at 1280 and 820 px, where it names the
// payment and the patient; Alex Morgan opens the invoice in the portal.
func (b *browser) money(t *testing.T) {
	a := b.app
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	// An issued invoice of Alex's with nothing paid yet, made for this
	// journey through the forms.
	setup := newClient(t, a.base)
	setup.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	tok := csrf(t, setup.get("/invoices/new?patient="+alex.String()))
	inv := idFrom(t, wantRedirect(t, "create", setup.post("/invoices", url.Values{"csrf_token": {tok}, "patient": {alex.String()}, "qty_EXAM": {"1"}}), "/invoices/"))
	wantRedirect(t, "issue", setup.post("/invoices/"+inv.String()+"/issue", url.Values{"csrf_token": {tok}}), "/invoices/")

	p := b.tab(t)
	p.viewport(1280, 900)
	p.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	p.open("/invoices/" + inv.String())
	p.typeIn("#amount", "30.00")
	p.set("#method", "cash")
	p.submit("#payment-form")
	if got := p.text(".notice"); !strings.Contains(got, "payment is recorded") {
		t.Fatalf("after the payment: notice %q, error %q", got, p.text("#form-error"))
	}
	receipts := p.attrs(`#payments a[href$="/receipt"]`, "href")
	if len(receipts) != 1 {
		t.Fatalf("the invoice lists %d receipts, want 1", len(receipts))
	}
	if status := p.open(receipts[0]); status != 200 {
		t.Fatalf("receipt: %d", status)
	}
	if got := p.text("#receipt-clinic"); got != riverside.Name {
		t.Errorf("the receipt names the clinic %q", got)
	}
	if got := p.text("#receipt-amount"); got != "£30.00" {
		t.Errorf("the receipt's amount: %q", got)
	}
	if got := p.text("#receipt-patient"); !strings.HasPrefix(got, "Alex Morgan") {
		t.Errorf("the receipt is made out to %q", got)
	}
	if p.display("header.top nav") == "none" || p.count("button[data-print]:not([hidden])") != 1 {
		t.Errorf("on screen: nav %q, print button shown %d", p.display("header.top nav"), p.count("button[data-print]:not([hidden])"))
	}
	p.shot("receipt")
	p.media("print")
	for _, sel := range []string{"header.top nav", "header.top", "footer"} {
		if got := p.display(sel); got != "none" {
			t.Errorf("printed, %s is display:%s, want none", sel, got)
		}
	}
	if eval[bool](p, `document.querySelector("button[data-print]").getClientRects().length > 0`) {
		t.Error("printed, the print button is on the paper")
	}
	if got := eval[string](p, `getComputedStyle(document.querySelector("#receipt")).color + " on " + getComputedStyle(document.body).backgroundColor`); got != "rgb(0, 0, 0) on rgb(255, 255, 255)" {
		t.Errorf("printed, the receipt is %s, want black on white", got)
	}
	if got := p.display("#receipt-clinic"); got == "none" {
		t.Error("printed, the receipt leaves the clinic's name off")
	}
	p.media("")
	p.open("/patients/" + alex.String() + "/statement")
	if !strings.Contains(p.text("#statement-ledger"), "Payment (Cash) on invoice") {
		t.Errorf("the statement's history: %q", p.text("#statement-ledger"))
	}
	p.shot("statement")

	for _, width := range []int64{1280, 820} {
		o := b.tab(t)
		o.viewport(width, 900)
		o.signIn(seed.StaffEmail("owner", riverside), false, "")
		o.open("/audit?kind=billing")
		rows := eval[[]string](o, `[...document.querySelectorAll("#audit tbody tr")].map(r => r.textContent.replace(/\s+/g, " "))`)
		var paid, printed bool
		for _, r := range rows[:min(len(rows), 5)] {
			paid = paid || strings.Contains(r, "Front Desk") && strings.Contains(r, "Took a payment from Alex Morgan")
			printed = printed || strings.Contains(r, "Front Desk") && strings.Contains(r, "Opened a receipt for Alex Morgan")
		}
		if !paid || !printed {
			t.Errorf("at %d px, the newest billing entries say the front desk took Alex's payment %v, opened the receipt %v: %q", width, paid, printed, rows[:min(len(rows), 5)])
		}
		o.fitsWidth("the audit log", int(width))
		if o.count("#who option") < 3 || o.count("#kind option") < 3 || o.count("#from") != 1 {
			t.Errorf("at %d px the filters are missing", width)
		}
	}

	pt := b.tab(t)
	pt.viewport(820, 900)
	pt.signIn(seed.PortalEmail, true, riverside.Name)
	pt.open("/portal/invoices")
	href := "/portal/invoices/" + inv.String()
	if pt.count(`#portal-invoices a[href="`+href+`"]`) != 1 {
		t.Fatalf("the portal's invoices do not link the invoice just paid")
	}
	pt.open(href)
	if pt.count("#portal-invoice-lines tbody tr") != 1 || !strings.Contains(pt.text("#portal-invoice-payments"), "£30.00") {
		t.Errorf("the portal invoice: %d lines, payments %q", pt.count("#portal-invoice-lines tbody tr"), pt.text("#portal-invoice-payments"))
	}
	if got := pt.text("#portal-invoice-balance"); got != "£15.00" {
		t.Errorf("the portal invoice's balance: %q", got)
	}
	pt.shot("portal-invoice")
}
