# Banking: a retail bank's back office.
domain banking
about retail bank back office: customers, deposit accounts, payees, transfers and payments, cards, loans, disputes and fraud alerts
brand Granite Trust Bank | Lakeshore Federal | Pioneer Savings & Loan | Meridian Community Bank | Northfield Credit Union

table branches branch rows 4-7 create
  label name pick(Downtown|Riverside|Northgate|Westfield|Harbor Point|Elm Park|University Square|Airport Plaza|Lakeside|Old Town|Maple Grove|Union Station)
  col city city
  col phone phone opt edit
  col manager person opt edit
  col has_drive_through bool opt
  status status open:6 temporarily_closed:1
  action close_temporarily "temporarily close {it}" open -> temporarily_closed
  action reopen "reopen {it}" temporarily_closed -> open

table customers customer core rows 14-26 create
  label full_name person
  col email email
  col phone phone opt edit
  col city city opt edit
  col kyc_level enum(basic,standard,enhanced) edit
  col credit_score int(540,840) opt
  col segment enum(retail,premier,private_banking,small_business) opt edit
  ref branch_id branches opt
  status status active:8 frozen:1 closed:1
  action freeze "freeze {it}" active -> frozen
  action unfreeze "lift the freeze on {it}" frozen -> active
  action close "close the relationship with {it}" active,frozen -> closed

table accounts account core rows 16-32 create
  label account_number code(ACC)
  ref customer_id customers
  col account_type enum(checking,savings,money_market,business_checking)
  col balance money(40,18000)
  col overdraft_limit money(0,1000) opt edit
  col nickname pick(Everyday|Rainy Day Fund|Bills|Holiday Savings|House Deposit|Emergency Fund|Payroll|Tuition) opt edit
  col opened_on pastdate(2500)
  col paperless_statements bool opt edit
  status status active:8 frozen:1 dormant:1 closed:1
  action freeze "freeze {it}" active,dormant -> frozen
  action unfreeze "unfreeze {it}" frozen -> active
  action reactivate "reactivate {it}" dormant -> active
  action close "close {it}" active,dormant -> closed

table payees payee core rows 10-20 create delete
  label name company
  ref customer_id customers
  col bank_name pick(Summit Federal|Lakeshore Credit Union|Pioneer Savings|Coastal Community Bank|Meridian Bank|Keystone National|Evergreen Trust|Prairie State Bank)
  col external_account code(EXT)
  col default_amount money(20,2000) opt edit
  col category enum(utility,rent,credit_card,individual,business,tax_authority) opt
  status status active:7 blocked:1
  action block "block payments to {it}" active -> blocked
  action unblock "unblock {it}" blocked -> active

table transfers transfer core rows 20-40 create
  label reference code(TRF)
  ref account_id accounts consumes balance by amount
  ref payee_id payees
  col amount money(10,1500)
  col channel enum(online,mobile,branch,phone)
  col memo pick(Rent|Invoice payment|Monthly bill|Reimbursement|Birthday gift|Tuition|Car payment|Utilities|Contractor deposit) opt
  col scheduled_for futuredate(30) opt
  status status pending:3 on_hold:1 completed:6 cancelled:1 reversed:1
  action hold "put {it} on hold" pending -> on_hold
  action release "release {it}" on_hold -> pending
  action cancel "cancel {it}" pending,on_hold -> cancelled
  action reverse "reverse {it}" completed -> reversed

table cards card core rows 10-22 create
  label card_number code(CRD)
  ref account_id accounts
  col card_type enum(debit,credit,prepaid)
  col network enum(visa,mastercard,discover) opt
  col daily_limit money(200,5000) edit
  col contactless_enabled bool opt edit
  col expires_on futuredate(1400)
  status status active:7 locked:1 reported_lost:1 cancelled:1
  action lock "lock {it}" active -> locked
  action unlock "unlock {it}" locked -> active
  action report_lost "report {it} as lost or stolen" active,locked -> reported_lost
  action cancel "cancel {it}" active,locked -> cancelled

table loans loan core rows 6-12 create
  label loan_number code(LN)
  ref customer_id customers
  ref branch_id branches opt
  col loan_type enum(personal,auto,mortgage,student,home_equity)
  col principal money(2000,350000)
  col apr_percent int(3,24) edit
  col term_months int(12,360)
  col monthly_payment money(80,2800) opt
  status status under_review:3 approved:2 active:5 paid_off:2 rejected:1
  action approve "approve {it}" under_review -> approved
  action reject "reject {it}" under_review -> rejected
  action disburse "disburse the funds for {it}" approved -> active
  action mark_paid_off "mark {it} as paid off" active -> paid_off

table loan_payments loan_payment rows 6-14 create
  label reference code(LPY)
  ref loan_id loans
  ref account_id accounts consumes balance by amount
  col amount money(80,2500)
  col due_on futuredate(30)
  status status scheduled:3 posted:6 returned:1 cancelled:1
  action cancel "cancel {it}" scheduled -> cancelled
  action mark_returned "mark {it} as returned unpaid" posted -> returned

table standing_orders standing_order rows 3-8 create delete
  label reference code(SO)
  ref account_id accounts
  ref payee_id payees
  col amount money(20,2000) edit
  col frequency enum(weekly,biweekly,monthly,quarterly) edit
  col next_run_on futuredate(30)
  status status active:5 paused:2 cancelled:1
  action pause "pause {it}" active -> paused
  action resume "resume {it}" paused -> active
  action cancel "cancel {it}" active,paused -> cancelled

table disputes dispute rows 3-8 create
  label case_number code(DSP)
  ref transfer_id transfers
  ref card_id cards opt
  col reason enum(unauthorized,duplicate_charge,goods_not_received,incorrect_amount,fraud)
  col disputed_amount money(10,1500)
  col opened_on pastdate(60)
  status status open:3 investigating:3 resolved:2 rejected:1
  action investigate "start investigating {it}" open -> investigating
  action resolve "resolve {it} in the customer's favour" investigating -> resolved
  action reject "reject {it}" open,investigating -> rejected

table fraud_alerts fraud_alert rows 3-8 create
  label alert_code code(FA)
  ref account_id accounts
  col risk_score int(40,99)
  col trigger enum(velocity,geo_mismatch,large_amount,new_device,card_testing)
  col raised_at past(14)
  status status open:3 cleared:2 confirmed_fraud:1
  action clear "clear {it} as legitimate activity" open -> cleared
  action confirm "confirm {it} as fraud" open -> confirmed_fraud
