/**
 * Hand-written text the ticket generator draws from: subjects, bodies and fillers per category.
 *
 * Template syntax (expanded by `expandTemplate` in ticket-generator.ts):
 * - `{slot}` — a named value such as `{order}` or `{amount}`; one ticket keeps one value per slot,
 *   so the subject and the body talk about the same order.
 * - `{a|b|c}` — one of the alternatives, chosen at random; `{text|}` makes `text` optional.
 *   Alternatives nest: `{the {product}|it}`.
 *
 * The text is written the way customers write, not the way the keyword rules want: it carries
 * the noise a real inbox has (a shipping ticket that says "404", a feature request about
 * invoices), so the rules' agreement with the intended label is a fair measure.
 */
import type { TicketTriage } from '../../lambda/tasks/ticket-triage';

/** A ticket category, as the triage task names it. */
export type TicketCategory = TicketTriage['category'];
/** A ticket priority, as the triage task names it. */
export type TicketPriority = TicketTriage['priority'];

/** Relative weights of the intended priorities. */
export type PriorityWeights = Readonly<Record<TicketPriority, number>>;

/**
 * One kind of problem a customer writes about: subjects and bodies that tell the same story,
 * so a generated ticket's subject always matches its body.
 */
export interface Scenario {
  readonly subjects: readonly string[];
  /** Bodies for a low- or medium-priority ticket: what happened, calmly. */
  readonly mild: readonly string[];
  /** Bodies for a high- or urgent-priority ticket; without them the mild ones are used. */
  readonly severe?: readonly string[];
  /** Detail sentences that only fit this scenario; the category's generic details are added. */
  readonly details?: readonly string[];
  /** False for a scenario no detail fits (a "test please ignore" message). */
  readonly allowDetails?: boolean;
  /** This scenario's own priority mix, when it differs from the category's. */
  readonly priorityWeights?: PriorityWeights;
}

/** Everything the generator knows about writing tickets of one category. */
export interface CategoryTemplates {
  readonly scenarios: readonly Scenario[];
  /** Vague subjects that fit any scenario of the category ("Billing question"). */
  readonly genericSubjects: readonly string[];
  /** Detail sentences that fit any scenario of the category. */
  readonly details: readonly string[];
  /** One sentence that brings this category into a ticket of another category (ambiguity). */
  readonly mentions: readonly string[];
  /** What the customer already tried, as bullet points of a long ticket. */
  readonly tried: readonly string[];
  /** How likely each intended priority is, before the tier policy. */
  readonly priorityWeights: PriorityWeights;
}

const LOW_ONLY: PriorityWeights = { low: 70, medium: 30, high: 0, urgent: 0 };
const CALM: PriorityWeights = { low: 25, medium: 65, high: 10, urgent: 0 };
const SERIOUS: PriorityWeights = { low: 0, medium: 20, high: 50, urgent: 30 };

export const CATEGORY_TEMPLATES: Readonly<Record<TicketCategory, CategoryTemplates>> = {
  billing: {
    scenarios: [
      {
        subjects: ['Charged twice for my {plan} subscription', 'Double charge on the {month} invoice', 'Two charges of {amount}?', 'Duplicate payment'],
        mild: [
          'I was looking at my bank statement and noticed two charges of {amount} on {date} for the same {plan} subscription. {Could you refund the duplicate?|Can you please look into it and refund one of them?|I only have one workspace, so one of these must be a mistake.}',
          'It looks like the {month} invoice was paid twice: {amount} went out on {date} and again the day after.',
        ],
        severe: [
          'I was charged twice — {amount} each — and now my bank account is overdrawn. {I need one of these refunded today.|This has real consequences for me.}',
          'You have charged my card {n_small} times this month for the same invoice ({invoice}). I cannot afford this and I need the extra payments reversed.',
        ],
        details: [
          'The charge shows up as "{company_us} {plan}" on my statement.',
          'My card ends in {last4}.',
          'I have attached a screenshot of the statement.',
        ],
      },
      {
        subjects: ['Wrong amount on my last invoice', 'Invoice {invoice} is higher than expected', 'Why was I charged {amount}?'],
        mild: [
          'My invoice for {month} shows {amount}, but we are on the {plan} plan, which should be {amount2}. {I think the seats were counted wrong.|Did the price change without notice?|We only have {seats} seats.}',
          'We were charged in US dollars but our contract says euros. Please correct invoice {invoice} and send a new one.',
          'The {month} invoice lists {seats} seats, but {n_small} of those people left the company in {month2}. Can we get a credit for them?',
        ],
        severe: ['Your system charged us {amount} instead of {amount2}. Our finance team cannot close the books until the invoice is corrected.'],
        details: ['Invoice number is {invoice}, dated {date}.', 'We have been paying {amount2} a month for {n_small} years without any issue until now.'],
      },
      {
        subjects: [
          'Refund request for order {order}',
          'Cancel my subscription and refund the rest',
          'Refund still not received',
          'Please refund my last payment',
        ],
        mild: [
          'I cancelled my subscription on {date} but I was still charged {amount} {this week|today|yesterday}. Please refund it.',
          'Our trial ended on {date} and we were billed {amount}. We did not mean to continue past the trial — could we get a refund?',
          'You promised a refund of {amount} on {date} for order {order}, and it is still not on my card {n_small} weeks later.',
          'I would like to cancel the {plan} plan and get the unused part of the year refunded.',
        ],
        severe: [
          'I have asked for a refund for order {order} {n_small} times and nobody answers. I will dispute the charge with my bank if this is not resolved.',
        ],
        details: ['The order was {order}, placed on {date}.', 'My card ends in {last4}.'],
      },
      {
        subjects: ['Need a VAT invoice for {company}', 'Invoice needs our company address', 'Can you reissue invoice {invoice}?'],
        mild: [
          'Our finance team needs invoices that include our VAT number ({vat_id}) and the registered address of {company}. {Is there a way to add this to past invoices?|Can you reissue the last {n_small} invoices?}',
          'Could you reissue invoice {invoice} with our purchase order number on it? Our accounts payable team will not pay it otherwise.',
        ],
        details: ['Our billing contact is {email}.', 'We pay by bank transfer, not by card.'],
        priorityWeights: CALM,
      },
      {
        subjects: ['Receipt for {month} missing', 'Receipt for order {order}', 'Where do I find my receipts?'],
        mild: [
          "Can you send me a receipt for order {order}? I {need it for my expense report|can't find it in my inbox|need it for reimbursement by {weekday}}.",
          'The billing page only shows receipts up to {month}. Where are the later ones?',
        ],
        priorityWeights: CALM,
      },
      {
        subjects: ['Payment failed but the money was taken', 'Card declined at checkout', 'Payment error on renewal'],
        mild: ['The payment for order {order} failed at checkout with "card declined", but the {amount} was still taken from my card ending in {last4}.'],
        severe: [
          'Our renewal payment failed and now the whole team of {seats} is locked out of the {plan} features in the middle of our {month}-end close. I have updated the card — please restore access.',
        ],
      },
      {
        subjects: ['Update the credit card on file', 'New card for billing', 'Change payment method'],
        mild: [
          'I need to change the credit card on file because the old one {expired|was replaced by my bank|was lost}. {The settings page only shows the old card.|Where do I do that?}',
          'Can we pay by bank transfer instead of credit card from {next month|{month} on|the next renewal}?',
        ],
        priorityWeights: CALM,
      },
      {
        subjects: ['Overcharged after downgrading to {plan2}', 'Pro-rated charge does not look right', 'Switching from monthly to annual billing'],
        mild: [
          'I downgraded from {plan} to {plan2} on {date}, yet the next invoice still billed me at the old price of {amount}.',
          "I'd like to switch from monthly to annual billing. {Will I get credit for the current month?|How is the remaining period pro-rated?|Is there a discount for paying yearly?}",
          'I upgraded in the middle of the month and the pro-rated charge of {amount} looks too high for {n_small} days.',
        ],
      },
      {
        subjects: ['Price went up without notice?', 'Per-seat pricing question', 'Is {plan2} billed per seat?'],
        mild: [
          'Is the {plan2} plan billed per seat or per workspace? I want to know what we will pay before I upgrade.',
          'Our monthly price went from {amount2} to {amount} and I did not see any announcement. What changed?',
        ],
        priorityWeights: CALM,
      },
      {
        subjects: ['Unexpected charge of {amount}', '{amount} taken from my card — what for?', 'Charges I did not authorise'],
        mild: [
          'I was charged {amount} for an add-on I never turned on ({addon}).',
          'There is a charge of {amount} from {company_us} on {date} and I do not know what it is for.',
        ],
        severe: [
          'There are {n_small} charges of {amount} on our company card that nobody here authorised. {This looks like fraud.|Did someone else get access to our billing?}',
        ],
      },
    ],
    genericSubjects: ['Billing question', 'Question about my bill', 'Invoice issue', 'Payment problem', 'Help with billing'],
    details: ['I am on the {plan} plan with {seats} seats.', 'Our billing contact is {email}.'],
    mentions: [
      'Separately, my last invoice seems to be {amount} higher than usual.',
      "Also, please make sure I'm not charged for the days it didn't work.",
      'And I would like a refund for this month given all the trouble.',
      'On top of that, I was charged {amount} for it already.',
    ],
    tried: [
      'checked the billing page in the app',
      'called my bank, who said the charge is from you',
      'looked through the help center',
      'searched my inbox for an invoice',
      'asked our finance team to double-check the statement',
    ],
    priorityWeights: { low: 15, medium: 45, high: 30, urgent: 10 },
  },

  technical: {
    scenarios: [
      {
        subjects: ['{app_product} crashes on startup', 'App keeps crashing after update {version}', 'App keeps freezing on {os}'],
        mild: [
          'Since updating to version {version} on {os}, {the {app_product}|the app} crashes {every time I open the settings|after about {n_small} minutes|when I switch workspaces}. {I already reinstalled it and restarted my {laptop|phone|computer}, but it did not help.|Reinstalling did not help.}',
          'The app freezes for a few seconds whenever I scroll through a long list, and sometimes closes itself.',
        ],
        severe: ['{The {app_product}|The app} stopped working entirely after version {version}. Nobody on our team of {seats} can use it.'],
        details: ['I am on {os}.', 'App version {version}.', 'It happens on both the desktop and the mobile app.'],
      },
      {
        subjects: ['Error {error_code} when exporting reports', 'Report export fails', 'Cannot export to CSV'],
        mild: [
          'When I try to export the {monthly|weekly|quarterly} report I get error {error_code}: "{error_message}". {It worked fine last week.|This started on {date}.}',
          'Exporting anything larger than a month of data fails with "{error_message}".',
        ],
        details: [
          'Error code: {error_code}.',
          'Steps to reproduce:\n1. Open {app_product}\n2. Go to Reports\n3. Click Export\n4. Wait about {seconds} seconds',
        ],
      },
      {
        subjects: ['API returns {http_status} for /v2/{endpoint}', 'Intermittent {http_status} errors from the API', 'API timeouts'],
        mild: [
          'Our integration calls POST /v2/{endpoint} and since {date} roughly {percent}% of requests return HTTP {http_status}. {Request IDs: {request_id}, {request_id2}.|Example request ID: {request_id}.}',
          'Requests to /v2/{endpoint} take {seconds} seconds and then time out, but only for our larger workspaces.',
        ],
        severe: [
          'Production is down: every call to /v2/{endpoint} returns {http_status} and our customers cannot check out. {We are losing orders every minute.|This started {n_small} minutes ago.}',
          'The API has been timing out for {n_small} hours. Our whole integration is broken and our own customers are affected.',
        ],
        details: [
          'Request ID for one of the failures: {request_id}.',
          'Here is what the log shows:\n\n{log_lines}',
          'The status page says everything is operational, which it clearly is not for us.',
        ],
      },
      {
        subjects: ['Dashboard not loading', 'Blank screen after login', '{app_product} shows a white page'],
        mild: ['The dashboard just shows a blank page in {browser} on {os}. The browser console says: {console_error}'],
        severe: ['Every login attempt ends on an error page with code {error_code}. We cannot work.'],
        details: [
          'Clearing the cache and cookies did not change anything.',
          'I tried a different network too, same thing.',
          'I am on {os} with {browser}.',
          'App version {version}.',
        ],
      },
      {
        subjects: ['Timeout when uploading large files', 'Uploads fail over {size} MB'],
        mild: ['Uploads over {size} MB time out after {seconds} seconds. Smaller files go through fine.'],
        details: ['I tried a different network too, same thing.', 'I am on {os} with {browser}.'],
      },
      {
        subjects: ['{item} will not connect to Wi-Fi', '{item} keeps going offline'],
        mild: [
          'The {item} keeps disconnecting from Wi-Fi every few hours and I have to unplug it to get it back.',
          'My new {item} does not find our Wi-Fi network during setup. Other devices see it fine.',
        ],
        severe: ['After the update the {item} units at all {n_small} of our sites went offline at once and will not come back.'],
        details: ['The router is about {n_small} metres away.', 'Firmware version {version}.', 'Restarting the router did not help.'],
      },
      {
        subjects: ['{item} firmware update failed', '{item} stuck after update'],
        mild: ['The firmware update for my {item} stopped at {percent}% and now the light just blinks {orange|red|blue}.'],
        details: ['I already tried holding the reset button for ten seconds.'],
      },
      {
        subjects: ['Webhooks are delayed by hours', 'Webhook deliveries late'],
        mild: ['Webhook deliveries to our endpoint are arriving {n_small} hours late. Our server responds in under {n_small2}00 ms, so it is not on our side.'],
        details: ['Here is what the log shows:\n\n{log_lines}'],
      },
      {
        subjects: ['Bug: dates shown in the wrong timezone', 'Times are off by a few hours'],
        mild: ['Dates on the activity page are shown in UTC instead of my timezone ({timezone}), even though my profile is set correctly.'],
        priorityWeights: CALM,
      },
      {
        subjects: ['{integration} integration broken', 'Sync stopped working after update {version}', '{integration} sync not running'],
        mild: ['The {integration} integration stopped syncing on {date}. The last successful sync shows {time}.'],
        severe: ['We are seeing data loss — records created {today|this morning|since {date}} are gone after the nightly {integration} sync.'],
        details: ['Here is what the log shows:\n\n{log_lines}', 'Reconnecting the integration did not help.'],
      },
      {
        subjects: ['Everything is extremely slow today', 'Is there an outage?', 'Site very slow'],
        mild: ['Pages take {seconds} seconds or more to load today, {for everyone in our office|in every browser we tried|on both wifi and mobile data}.'],
        severe: ['The whole app is down for everyone in our office — nothing loads since {time}.'],
        details: ['The status page says everything is operational, which it clearly is not for us.', 'I tried a different network too, same thing.'],
      },
      {
        subjects: ['CSV import fails at row {row}', 'Import error: "{error_message}"'],
        mild: ['The CSV import stops at row {row} with "{error_message}". The file has {seats}00 rows and opens fine in Excel.'],
      },
      {
        subjects: ['Cannot save changes — spinner forever', 'Changes are not saved'],
        mild: [
          'When I click save on {a record|a contact|a task|a project|my profile} nothing happens, the spinner keeps going{ for minutes|} and the change is gone after a refresh.',
        ],
        details: ['Clearing the cache and cookies did not change anything.', 'I am on {os} with {browser}.'],
      },
      {
        subjects: ['Search returns nothing', 'Reports show wrong numbers'],
        mild: [
          'Search in {app_product} returns no results for anything older than {month}. It used to find everything.',
          'The totals on the {monthly|weekly} report do not match the raw data export — the report is off by about {percent}%.',
        ],
      },
    ],
    genericSubjects: ['Something is broken', 'Bug report', 'Error message', 'Technical issue', 'Help!'],
    details: ['Happy to share a screen recording if that helps.', 'It worked fine until {date}.'],
    mentions: [
      'The app also crashed twice while I was writing this.',
      'I also keep getting error {error_code} on the settings page.',
      '(The website was also really slow and timed out once.)',
      'On top of that, the page shows an error when I try to open it.',
    ],
    tried: [
      'restarted the app and the computer',
      'cleared the cache',
      'tried another browser ({browser})',
      'reinstalled the latest version',
      'checked the status page',
      'asked a colleague to try on their machine',
    ],
    priorityWeights: { low: 10, medium: 35, high: 35, urgent: 20 },
  },

  account: {
    scenarios: [
      {
        subjects: ['Password reset email never arrives', 'Cannot reset my password', 'No reset email'],
        mild: [
          'I have tried to reset my password {n_small} times but the reset email never arrives. I checked the spam folder too. My email address is {email}.',
        ],
        severe: ['I cannot reset the password because the reset link has expired every time I click it, and I have a client presentation in {n_small} hours.'],
      },
      {
        subjects: ['Lost my 2FA device', 'New phone, no authenticator', 'Two-factor codes not accepted'],
        mild: [
          'I got a new phone and lost access to my authenticator app. {Can you reset two-factor authentication for {email}?|How do I get back in?}',
          'The two-factor codes from my {authenticator app|phone|{idp} app} are rejected every time. The clock on my phone is correct.',
        ],
        severe: ['I lost my 2FA device and I am unable to get into the account that holds all our {company} projects. Please help me get back in.'],
        details: ['I can verify my identity with the last four digits of the card we pay with.'],
      },
      {
        subjects: ['Change the email address on my account', 'Update my login email'],
        mild: ['Please change the email address on my account from {email} to {email2}. {I am leaving my old job.|The old domain is being shut down.}'],
        priorityWeights: CALM,
      },
      {
        subjects: ['Transfer account ownership to {colleague}', 'Workspace owner is leaving'],
        mild: ['{colleague} is leaving {company} at the end of the month. Please transfer ownership of our workspace to me ({email}).'],
        details: ['I am the owner of the workspace "{company}".'],
      },
      {
        subjects: ['SSO login loops back to the sign-in page', 'SSO not working with {idp}', 'Sign in with Google not working'],
        mild: [
          'When I sign in with SSO through {idp} I am sent back to the login page again and again.',
          'Sign in with Google shows "{error_message}" and sends me back to the start.',
        ],
        severe: ['Our SSO login through {idp} fails for all {seats} employees since this morning. Nobody can sign in.'],
        details: ['Our identity provider is {idp}.', 'I tried in {browser} and in the app, same result.'],
      },
      {
        subjects: ['How do I delete my account?', 'Please delete my data', 'GDPR deletion request'],
        mild: ['I would like my account ({email}) and all my data deleted{, as is my right under GDPR|, please confirm by email|}.'],
        priorityWeights: CALM,
      },
      {
        subjects: ['Merge two accounts', 'Duplicate account'],
        mild: ['I created a second account by mistake with {email2}. Can you merge it into {email}?'],
        priorityWeights: CALM,
      },
      {
        subjects: ['Add a new admin to our workspace', "Remove a former employee's access", 'User permissions question'],
        mild: [
          'How do I add another admin? {colleague} needs to manage users while I am away.',
          '{colleague} left the company on {date}. Please remove their access and move their files to me.',
        ],
      },
      {
        subjects: ['Suspicious login from {country}', 'I think my account was hacked', 'Unknown device signed in'],
        mild: ['I got an email about a new sign-in from {country}. It was probably me on holiday, but can you confirm which device it was?'],
        severe: [
          'I received an alert about a sign-in from {country} that was not me. I have changed my password, but I need to know what was accessed. This is a security issue.',
          'Someone changed the email address on my account to one I do not recognise. I think my account was hacked.',
        ],
        priorityWeights: SERIOUS,
      },
      {
        subjects: ["Can't log in", 'Locked out of my account', 'Too many login attempts'],
        mild: ['I am locked out after {n_small2} wrong attempts. The message says to wait {n_small} hours.'],
        severe: [
          'I am locked out of my account after too many attempts and the unlock email never came{, {n_small} hours ago|}. I cannot get to any of my files.',
        ],
        details: ['The last time I could sign in was {date}.', 'My username is {username}.'],
      },
      {
        subjects: ['Account deactivated without warning', 'Our workspace was suspended'],
        mild: ['My account says it is deactivated{ since {date}|}. I did not ask for that — what happened?'],
        severe: ['Our admin account was deactivated {yesterday|this morning|on {date}} without any notice, and now nobody at {company} can log in.'],
      },
      {
        subjects: ['Username already taken?', 'Please update my username'],
        mild: ['The username I want, "{username}", says it is already taken, but I think it was my own old account.'],
        priorityWeights: LOW_ONLY,
      },
    ],
    genericSubjects: ['Account problem', 'Login issue', 'Question about my account', 'Help with access'],
    details: ['The account is registered to {email}.', 'My username is {username}.'],
    mentions: [
      'I had to reset my password just to get in and write this.',
      'Also, can you update the email address on my account to {email2}?',
      'Separately, I keep getting logged out of my account every few minutes.',
      'By the way, I cannot log in on the mobile app either.',
    ],
    tried: [
      'used the "forgot password" link twice',
      'checked my spam folder',
      'tried another browser',
      'waited a day and tried again',
      'asked our admin to check my user',
    ],
    priorityWeights: { low: 10, medium: 40, high: 35, urgent: 15 },
  },

  shipping: {
    scenarios: [
      {
        subjects: ['Where is my order {order}?', 'Package has not arrived', 'Still waiting for my {item}', 'Order {order} — no update for a week'],
        mild: ['I ordered the {item} on {date} (order {order}) and it still has not arrived. The tracking number {tracking} has not updated in {days} days.'],
        severe: [
          'Order {order} was supposed to arrive {n_small} days ago and we need the {item} for an installation at a client site on {weekday}. Nobody at {carrier} can tell me where the package is.',
        ],
        details: [
          'I have been checking the tracking page every day since {date}.',
          'I paid for express shipping.',
          'The order confirmation says delivery within {n_small} business days.',
        ],
      },
      {
        subjects: ['Marked as delivered but nothing here', 'Parcel says delivered, it is not'],
        mild: ['{carrier} says my package was delivered on {date}, but there is nothing at my door{ and my neighbours have not seen it either|}.'],
        details: ['Tracking number: {tracking}.', 'Delivery address: {address}.'],
      },
      {
        subjects: ['Damaged box — {item}', '{item} arrived broken'],
        mild: [
          'The box arrived crushed and the {item} inside is cracked. {I have attached photos.|Photos attached.}',
          'The {item} arrived with a broken corner, although the box itself was fine.',
        ],
        severe: ['All {n_small} {item} units in our shipment arrived broken. We cannot open the new store without them.'],
      },
      {
        subjects: ['Wrong item received', 'I got a {item2} instead of a {item}'],
        mild: ['I received a {item2} instead of the {item} I ordered (order {order}).'],
      },
      {
        subjects: ['Change delivery address for {order}', 'Wrong address on my order'],
        mild: ['Could you change the delivery address for order {order} to {address}? It has not shipped yet according to the status page.'],
        severe: ['The tracking shows the parcel went to {address}, which is not my address. It has my {item} and my personal details in it.'],
      },
      {
        subjects: ['Do you ship to {country}?', 'How long does shipping take to {country}?', 'International delivery'],
        mild: ['Do you ship to {country}, and how long does delivery usually take?', 'Before I order: what are the delivery times and costs to {country}?'],
        priorityWeights: LOW_ONLY,
      },
      {
        subjects: ['Stuck in customs', 'Customs hold on order {order}'],
        mild: ['My order {order} has been stuck in customs in {city} since {date}. {Do I need to pay import duties?|Who do I contact about it?}'],
      },
      {
        subjects: ['Missing item from my order', 'Only part of my order arrived'],
        mild: [
          'The order had {n_small} items but only one was in the parcel.',
          'My shipment was split into two packages and only the first one came. Tracking for the second: {tracking}.',
        ],
      },
      {
        subjects: ['Tracking number not working', 'Tracking link is broken'],
        mild: ['The tracking link in the confirmation email gives a 404 on the {carrier} website. The number is {tracking}.'],
      },
      {
        subjects: ['Return label for the {item}', 'How do I send the {item} back?'],
        mild: ['I need a return label for the {item}; it does not fit our setup.'],
        priorityWeights: CALM,
      },
      {
        subjects: ['Redelivery on {weekday}?', 'Send my parcel to a pickup point'],
        mild: ['The courier left a note saying they will try again on {weekday}, but I will not be home. Can the parcel go to a pickup point instead?'],
      },
      {
        subjects: ['Order {order} lost', 'Parcel returned to sender'],
        mild: ['{carrier} says my parcel was returned to sender. Can you ship it again?'],
        severe: ['My order {order} has been lost: {carrier} says it was returned to your warehouse {days} days ago and nobody has shipped it again.'],
      },
    ],
    genericSubjects: ['Delivery question', 'Problem with my order', 'Shipping issue', 'My order'],
    details: ['It was shipped with {carrier}.', 'I ordered on {date}.'],
    mentions: [
      'Also, my last package from you still has not arrived.',
      'Side note: the tracking number for order {order2} does not work.',
      'And the replacement {item} you promised has not been delivered either.',
      'Please also tell me when the rest of my order will be shipped.',
    ],
    tried: [
      'checked the tracking page every day',
      'called {carrier}',
      'asked my neighbours and the building reception',
      'looked for a delivery note in the mailbox',
      'checked the address on the order confirmation',
    ],
    priorityWeights: { low: 15, medium: 50, high: 30, urgent: 5 },
  },

  feature_request: {
    scenarios: [
      {
        subjects: [
          'Feature request: {feature_name}',
          'Suggestion: {feature_name}',
          'Any plans for {feature_name}?',
          'Would love {feature_name}',
          'Please add {feature_name}',
          'Is {feature_name} on the roadmap?',
          'Request: {feature_name}',
        ],
        mild: [
          'It would be great if {app_product} supported {feature_name}. {We currently work around it by exporting to spreadsheets.|Right now we do this by hand every week.|It is the one thing we miss.}',
          'Are there any plans to add {feature_name}? {Our team of {seats} would use it daily.|Several tools we compared have it.}',
          'Suggestion: {feature_name}. {It would save us a lot of time.|It would make onboarding much easier.|Happy to test a beta.}',
          'I love the product, but I really wish there was {feature_name}.',
          'Could you consider adding {feature_name} to the roadmap?',
          'We would love {feature_name}. {Is this something you are considering?|Even a simple version would help.}',
          'Please add {feature_name}. Our {team|department|whole company} has been asking for it.',
          'Would it be possible to get {feature_name} in a future release?',
        ],
        severe: [
          'We need {feature_name} before our renewal in {month}; without it we will have to look at other tools. Is it on the roadmap?',
          'Our compliance team requires {feature_name} — please tell us whether and when you will add it.',
        ],
        details: ['Something like how {competitor} does it would be perfect.'],
      },
      {
        subjects: ['Small UX idea', 'Idea to make {app_product} better', 'Wishlist item'],
        mild: ['Not a problem, just an idea: {ux_idea}', 'A small thing that would make my day better: {ux_idea}', 'Idea from our team: {ux_idea}'],
      },
      {
        subjects: ['Idea for the {item}', 'Next version of the {item}?'],
        mild: ['It would be nice if the next {item} had {hardware_idea}.', 'Any chance of {hardware_idea} on the {item}? Would buy {n_small} more.'],
      },
    ],
    genericSubjects: ['Feature idea', 'Product feedback', 'An idea', 'Suggestion'],
    details: [
      'We are a team of {seats} on the {plan} plan.',
      'I would be happy to jump on a call to explain our use case.',
      'Even a basic version would already help a lot.',
      'I searched the help center and the community forum but could not find anything about it.',
      'Our use case: we {run weekly reviews|onboard new clients every week|share reports with customers}.',
    ],
    mentions: [
      'It would be great if you added {feature_name} too.',
      'Suggestion for the future: {feature_name}.',
      'While I have you: please add {feature_name} one day.',
    ],
    tried: ['used a spreadsheet as a workaround', 'looked for a plugin or an integration', 'read the roadmap page', 'asked in the community forum'],
    priorityWeights: { low: 75, medium: 23, high: 2, urgent: 0 },
  },

  other: {
    scenarios: [
      {
        subjects: ['Press inquiry', 'Podcast invitation', 'Feature in our newsletter?'],
        mild: ['I run a {blog|podcast|newsletter} about {topic} and would love to feature {company_us} in an upcoming {episode|issue}.'],
        severe: [
          'We are a journalist team on a deadline today for a story about {topic}. We would like a comment from {company_us} within the next {n_small} hours.',
        ],
      },
      {
        subjects: ['Just wanted to say thanks', 'Feedback on your support team', 'Kudos to {agent}'],
        mild: ['Just wanted to say that {agent} from your team was incredibly helpful last week. {Thanks!|Keep it up.|Please pass it on.}'],
        priorityWeights: LOW_ONLY,
      },
      {
        subjects: ['Speaking invitation — {event}', 'Invitation to {event}'],
        mild: ['We are organising {event} in {city} on {date} and would like to invite someone from your team to speak.'],
      },
      {
        subjects: ['Do you have an office in {city}?', 'Visiting your office'],
        mild: ['Do you have a physical office in {city}? I would like to drop by with a few questions.'],
      },
      { subjects: ['Test', 'test', 'Test message'], mild: ['Test, please ignore.', 'test', 'Testing the contact form.'], allowDetails: false },
      {
        subjects: ['Quick question', 'General inquiry', 'Right address?'],
        mild: [
          'Is this the right address for general questions? I could not find another contact.',
          'Who is the right person to talk to about a co-marketing idea?',
        ],
      },
      {
        subjects: ['Reseller program?', 'Partnership opportunity', 'Distribution in {country}'],
        mild: ['We are a {industry} company interested in reselling your products in {country}. Who should I talk to?'],
      },
      {
        subjects: ['Interview request for a student project', 'Thesis interview'],
        mild: ['I am a student writing a thesis about {topic}. Could I interview someone from your product team for {n_small}0 minutes?'],
      },
      {
        subjects: ['Donation request for {charity}', 'Raffle prize?'],
        mild: ['Our school is raising money for {charity} — would you consider donating a few units for our raffle?'],
        priorityWeights: LOW_ONLY,
      },
      {
        subjects: ['Are you hiring?', 'Job opportunities in {city}'],
        mild: ['Are you hiring in {city}? I could not find a careers page.'],
        priorityWeights: LOW_ONLY,
      },
      {
        subjects: ['Sustainability report', 'Vendor questionnaire'],
        mild: ['Do you publish a sustainability or carbon report? Our {procurement|purchasing|compliance} team asks every vendor for one{ by {month}|}.'],
      },
      {
        subjects: ['Introduction after {event}', 'Nice meeting you at {event}'],
        mild: ['Hi, I met some of your team at {event}. Could you put me in touch with {agent}?'],
      },
    ],
    genericSubjects: ['Hello', 'Question', 'Hi', 'Contact request'],
    details: [
      'I have been a happy customer since {year}.',
      'Our website is www.{domain}.',
      'I am based in {city}.',
      'Happy to share more details on a call.',
      'Feel free to forward this to the right person.',
    ],
    mentions: ['By the way, your support team has always been great.', 'Unrelated, but I love the new logo.'],
    tried: ['looked for a contact form on the website', 'asked on social media', 'searched the press page'],
    priorityWeights: { low: 60, medium: 38, high: 2, urgent: 0 },
  },
};

/** Small product ideas for the UX-idea scenario: each a whole sentence. */
export const UX_IDEAS = [
  'the save button is hard to find; could it sit at the top of the page too?',
  'could the sidebar be collapsible on small screens?',
  'it would help to see the total at the top of the report, not only at the bottom.',
  'please remember the last filter I used on the contacts page.',
  'a confirmation before deleting a whole project would prevent accidents.',
  'the colours of the charts are hard to tell apart for colour-blind people.',
  'let me drag and drop files straight into a comment.',
  'show the week number in the date picker.',
];

/** Hardware ideas for the device scenario. */
export const HARDWARE_IDEAS = [
  'a battery level indicator',
  'a black version',
  'a longer cable in the box',
  'a quieter click',
  'a magnetic mount',
  'a status light you can turn off',
];

/** Phrases that make a ticket sound urgent, high or low, added according to the intended priority. */
export const PRIORITY_PHRASES: Readonly<Record<TicketPriority, readonly string[]>> = {
  urgent: [
    'This is urgent — {our whole team is blocked|we have a launch tomorrow|customers are affected right now}.',
    'Please treat this as urgent.',
    'We need this fixed ASAP.',
    'Please help immediately.',
    'I need an answer today, this is critical for us.',
    'URGENT, please escalate.',
  ],
  high: [
    'We cannot work until this is fixed.',
    'I am completely blocked.',
    'This is blocking our work.',
    'I am unable to do my job right now.',
    'Please prioritise this.',
    'This is a serious problem for us.',
    'Could someone look at this today?',
  ],
  medium: ['Would appreciate a reply this week.', 'Let me know if you need anything else from me.', ''],
  low: ['No rush.', 'Whenever you have a moment.', 'Not urgent at all.', 'Just curious.', 'Just a quick question.', 'No hurry on this one.'],
};

export const GREETINGS = [
  'Hi,',
  'Hello,',
  'Hi there,',
  'Hello team,',
  'Dear Support,',
  'Dear {company_us} team,',
  'Hey,',
  'Good morning,',
  'Good afternoon,',
  'Hi {agent},',
  'To whom it may concern,',
];

export const POLITE = [
  'Thanks in advance for your help!',
  'I appreciate any help you can give.',
  'Sorry to bother you with this.',
  'Hope you are having a good week.',
  'Thank you for looking into it.',
  'Many thanks.',
];

export const ANGRY = [
  'This is the {second|third|fourth} time I am writing about this.',
  'Honestly, this is unacceptable.',
  'I am really frustrated.',
  'If this is not sorted out by {weekday} I will take my business elsewhere.',
  'Nobody has replied to my last {n_small} emails.',
  'I expected much better from a company like yours.',
  'Seriously?!',
];

export const CLOSINGS = [
  'Thanks,\n{name}',
  'Best regards,\n{name}\n{company}',
  'Kind regards,\n{name}',
  'Cheers,\n{first_name}',
  '— {first_name}',
  '{name}\n{job_title}, {company}',
  'Sent from my iPhone',
  'Regards,\n{first_name}',
  'Thank you,\n{name}',
];

/** A paragraph of context that long tickets open with or add. */
export const CONTEXT_PARAGRAPHS = [
  'For context, we have been customers since {year} and use {app_product} across {seats} seats.',
  'A bit of background: I manage the tools for our {team|office|department} at {company}, and this affects {seats} people.',
  'I am writing on behalf of {colleague}, who is out this week.',
  'We rely on {company_us} for most of our daily work, so this matters to us.',
  'I already tried the help center article on this, and the chat bot sent me here.',
];

/**
 * Earlier replies of the support team, quoted under a customer's "Re:" answer. Kept free of
 * category words on purpose: a quote is the agent's text, not the customer's problem.
 */
export const QUOTED_REPLIES = [
  'Thanks for reaching out! Could you send us a few more details, such as when it started and a screenshot?',
  'We have passed this on to the right team and will get back to you within {n_small} business days.',
  'Sorry for the trouble! Could you confirm a few details so we can look into it?',
  'Thank you for your patience. We are still looking into this and will update you as soon as we know more.',
];

/** A follow-up paragraph: the customer adds news before anyone answered. */
export const UPDATES = [
  'Update: it happened again this morning.',
  'Update: still the same on {weekday}.',
  'Edit: I tried again from another computer and got exactly the same result.',
  'One more thing: a colleague of mine sees the same, so it is not just me.',
  'PS: I am out of the office from {weekday}, so please reply to {colleague} as well.',
  'Just following up on this, as I have not heard back since {date}.',
];

/** How a customer dashes off a one-line ticket; `$LINE` stands for the core sentence. */
export const ONE_LINE_FRAMES = [
  '$LINE',
  '$LINE Thanks, {first_name}',
  'Hi, $LINE',
  '$LINE Any ideas?',
  '$LINE Please help.',
  '$LINE — {first_name}',
  '$LINE Sent from my phone.',
  '$LINE Thx',
  'Hello! $LINE',
  '$LINE Thanks!',
];

/** Lines in other scripts and emoji, added to a few tickets so the pipeline sees non-ASCII text. */
export const NON_ASCII_EXTRAS = {
  emoji: ['🙏', '😡', '🙂', '📦', '🔥', '😅', '👍', '🤞'],
  cjk: ['ご対応よろしくお願いいたします。', '谢谢你们的帮助！', '감사합니다.', '如果需要更多信息，请告诉我。', 'よろしくお願いします。'],
};

export const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Carlos',
  'Dana',
  'Emeka',
  'Fatima',
  'Grace',
  'Hiro',
  'Ingrid',
  'Jamal',
  'Kate',
  'Liam',
  'Mei',
  'Noah',
  'Olu',
  'Priya',
  'Quentin',
  'Rosa',
  'Sam',
  'Tom',
  'Uma',
  'Viktor',
  'Wen',
  'Yusuf',
  'Zoë',
  'José',
  'Renée',
  'Björn',
  'Łukasz',
  'Chloé',
  'Søren',
  'Ayşe',
  'Mateo',
  'Sofia',
  'Aisha',
  'Lars',
];

export const LAST_NAMES = [
  'Smith',
  'García',
  'Müller',
  'Okafor',
  'Tanaka',
  'Kowalski',
  'Dubois',
  'Rossi',
  'Nakamura',
  "O'Brien",
  'Johansson',
  'Ivanova',
  'Patel',
  'Kim',
  'Silva',
  'Hernández',
  'Öztürk',
  'Nowak',
  'Lefèvre',
  'Chen',
  'Brown',
  'Nguyen',
  'Haddad',
  'Jensen',
  'Moreau',
  'Costa',
  'Walker',
  'Singh',
  'Yamamoto',
  'Fischer',
];

export const COMPANIES = [
  'Brightside Dental',
  'Kowalski & Sons',
  'Helios Logistics GmbH',
  'Tanaka Design Studio',
  'Blue Fern Bakery',
  'Orbital Analytics',
  'Greenleaf School District',
  'Nordlicht AB',
  'Café Lumière',
  'Redwood Legal LLP',
  'Pinecrest Realty',
  'Atlas Robotics',
  'Maple & Oak Interiors',
  'Sunrise Clinics',
  'Quantum Leaf Ltd',
  'Harbor Freight Co-op',
  'Lotus Yoga Studio',
  'Ironclad Security Services',
  'Vista Travel',
  'Nimbus Games',
];

export const SOFTWARE_PRODUCTS = ['Northwind Dashboard', 'the mobile app', 'the desktop app', 'Northwind Sync', 'Reports', 'the web app', 'Analytics'];

export const PHYSICAL_ITEMS = [
  'Hub Mini',
  'Sensor Pro 2',
  'Cam 360 (white)',
  'wall mount kit',
  'USB-C power adapter',
  'starter bundle',
  'replacement battery pack',
  'door sensor 4-pack',
  'Smart Plug',
  'Hub Max',
  'outdoor camera',
  'thermostat',
];

export const PLANS = ['Free', 'Starter', 'Pro', 'Team', 'Business', 'Enterprise'];

export const ADDONS = ['Advanced Analytics', 'extra storage', 'priority support', 'the AI assistant', 'SMS alerts'];

export const FEATURE_NAMES = [
  'dark mode',
  'an export to Excel',
  'keyboard shortcuts',
  'bulk editing',
  'custom fields on tasks',
  'recurring reminders',
  'a Slack integration',
  'an offline mode',
  'more granular permissions',
  'German localisation',
  'scheduled reports',
  'webhooks for deleted records',
  'hardware security keys for 2FA',
  'a public API for invoices',
  'a calendar view',
  'saved filters',
  'a Zapier integration',
  'multiple dashboards',
  'tags on contacts',
  'a way to archive old projects',
  'PDF export of reports',
  'an Android widget',
  'audit logs',
  'a read-only guest role',
  'Markdown in comments',
  'a Linux desktop app',
];

export const COMPETITORS = ['Asana', 'Notion', 'Trello', 'Monday', 'Airtable', 'ClickUp'];

export const INTEGRATIONS = ['Salesforce', 'HubSpot', 'Google Calendar', 'Slack', 'Shopify', 'QuickBooks', 'Zapier', 'Microsoft Teams'];

export const IDENTITY_PROVIDERS = ['Okta', 'Azure AD', 'Google Workspace', 'OneLogin', 'JumpCloud'];

export const OPERATING_SYSTEMS = ['Windows 11', 'Windows 10', 'macOS Sonoma', 'macOS Ventura', 'iOS 17', 'Android 14', 'Ubuntu 22.04', 'ChromeOS'];

export const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge', 'Brave'];

export const ERROR_MESSAGES = [
  'Something went wrong. Please try again later.',
  'Unexpected token < in JSON at position 0',
  'Request failed with status code 502',
  'Session expired',
  'Network error: connection reset',
  'Invalid state parameter',
  'Could not parse file',
  'Permission denied',
  'Quota exceeded',
  'null is not an object',
];

export const CONSOLE_ERRORS = [
  "TypeError: Cannot read properties of undefined (reading 'map')",
  'Failed to load resource: the server responded with a status of 503',
  'Uncaught (in promise) Error: ChunkLoadError',
  'Refused to connect: Content Security Policy directive violated',
];

export const ENDPOINTS = ['orders', 'contacts', 'events', 'reports/export', 'webhooks', 'users', 'sync', 'files'];

export const HTTP_STATUSES = ['500', '502', '503', '504', '429', '401', '403', '404'];

export const LOG_SERVICES = ['sync-worker', 'api-gateway', 'export-job', 'webhook-dispatcher', 'auth-client', 'uploader'];

export const LOG_MESSAGES = [
  'connection reset by peer',
  'request timed out after 30000ms',
  'retrying (attempt {n_small}/5)',
  'upstream returned {http_status}',
  'failed to parse response body',
  'token refresh failed: invalid_grant',
  'queue depth {seats}00, backing off',
];

export const CARRIERS = ['UPS', 'FedEx', 'DHL', 'USPS', 'Royal Mail', 'DPD', 'PostNL', 'Canada Post'];

export const COUNTRIES = ['Canada', 'Germany', 'Brazil', 'Japan', 'Australia', 'Nigeria', 'Poland', 'Mexico', 'India', 'Norway', 'Ireland', 'South Korea'];

export const CITIES = [
  'Toronto',
  'Berlin',
  'São Paulo',
  'Osaka',
  'Melbourne',
  'Lagos',
  'Kraków',
  'Guadalajara',
  'Pune',
  'Oslo',
  'Dublin',
  'Seoul',
  'Lyon',
  'Austin',
];

export const STREETS = ['Maple Street', 'Rue de la Paix', 'Hauptstraße', 'Calle Mayor', 'King Street', 'Ulica Długa', 'Elm Avenue', 'Via Roma'];

export const TIMEZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'America/Sao_Paulo', 'Asia/Kolkata'];

export const TOPICS = ['small business software', 'remote work', 'smart homes', 'customer service', 'startups in Europe', 'IoT security'];

export const EVENTS = ['TechConf 2025', 'the SaaS Summit', 'a local meetup', 'DevDays', 'the Smart Home Expo'];

export const CHARITIES = ['the local food bank', 'a children’s hospital', 'our school library', 'animal rescue'];

export const INDUSTRIES = ['construction', 'retail', 'hospitality', 'healthcare', 'education', 'logistics'];

export const JOB_TITLES = ['Office Manager', 'IT Lead', 'Founder', 'Operations', 'Head of Finance', 'Developer', 'Accountant'];

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];
