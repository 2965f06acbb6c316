# Telecom: a mobile carrier's customer care back office.
domain telecom
about mobile carrier customer care: subscribers, plans, phone lines, devices, prepaid data top-ups, add-ons, bills, number porting, network outages and support tickets
brand Skyline Mobile | Bluewave Wireless | Crest Cellular | Nova Telecom | Pinnacle Wireless

table plans plan core rows 4-8 create
  label name pick(Starter 5GB|Essential 15GB|Plus 30GB|Unlimited Basic|Unlimited Premium|Family Share 50GB|Prepaid Flex|Senior Talk and Text|Student Unlimited|Business Pro|Data Only 10GB|Traveler Global)
  col monthly_price money(15,95) edit
  col data_allowance_gb int(2,100)
  col contract_months int(0,24) opt
  col hotspot_included bool opt edit
  status status available:6 retired:1
  action retire "retire {it} from sale" available -> retired
  action relaunch "make {it} available again" retired -> available

table subscribers subscriber core rows 12-24 create
  label full_name person
  col email email
  col contact_phone phone opt edit
  col billing_city city opt edit
  col autopay bool edit
  col credit_class enum(prime,near_prime,subprime,deposit_required) opt
  status status active:8 suspended:1 closed:1
  action suspend "suspend {it}" active -> suspended
  action restore "restore {it}" suspended -> active
  action close "close {it}" active,suspended -> closed

table devices device core rows 10-20 create
  label imei code(IMEI)
  ref subscriber_id subscribers
  col model pick(iPhone 15|iPhone 14|iPhone SE|Pixel 8|Pixel 7a|Galaxy S24|Galaxy A54|Galaxy Z Flip5|Moto G Power|OnePlus 12)
  col ownership enum(financed,owned,leased)
  col installment_balance money(0,900) opt
  col esim bool opt
  status status active:7 lost:1 blacklisted:1
  action report_lost "report {it} as lost" active -> lost
  action recover "mark {it} as recovered" lost -> active
  action blacklist "blacklist {it}" active,lost -> blacklisted

table lines line core rows 16-30 create
  label line_code code(LINE)
  ref subscriber_id subscribers
  ref plan_id plans
  ref device_id devices opt
  col phone_number phone
  col prepaid_balance money(0,120)
  col roaming_enabled bool opt edit
  col voicemail_enabled bool opt edit
  col activated_on pastdate(1000)
  status status active:8 suspended:2 disconnected:1
  action suspend "suspend {it}" active -> suspended
  action restore "restore service on {it}" suspended -> active
  action disconnect "disconnect {it}" active,suspended -> disconnected

table data_topups data_topup core rows 14-28 create
  label reference code(TOP)
  ref line_id lines consumes prepaid_balance by price
  col pack enum(day_pass_1gb,week_5gb,month_10gb,roaming_2gb,unlimited_day)
  col price money(5,40)
  col purchased_at past(60)
  status status pending:2 active:4 expired:5 refunded:1
  action activate "activate {it}" pending -> active
  action refund "refund {it}" pending,active -> refunded

table add_ons add_on rows 4-8 create delete
  label name pick(International Calling|Device Protection|Hotspot 20GB|Streaming Bundle|Cloud Backup 200GB|Roaming Day Pass|Visual Voicemail|Call Filter Plus|Wi-Fi Calling Plus|Number Lock|Kids Safe Browsing|Canada and Mexico Roaming)
  col monthly_fee money(3,25) edit
  col category enum(calling,data,security,entertainment,protection)
  status status available:5 discontinued:1
  action discontinue "discontinue {it}" available -> discontinued
  action relaunch "offer {it} again" discontinued -> available

table line_features line_feature rows 6-14 create delete
  label reference code(FEA)
  ref line_id lines
  ref add_on_id add_ons
  col started_on pastdate(200)
  status status active:5 paused:1 cancelled:1
  action pause "pause {it}" active -> paused
  action resume "resume {it}" paused -> active
  action cancel "cancel {it}" active,paused -> cancelled

table bills bill core rows 10-20 create
  label bill_number code(BIL)
  ref subscriber_id subscribers
  col amount money(20,350)
  col due_on futuredate(30)
  col late_fee money(5,15) opt
  status status issued:4 paid:6 overdue:2 disputed:1
  action pay "mark {it} as paid" issued,overdue -> paid
  action dispute "open a dispute on {it}" issued,overdue -> disputed
  action settle_dispute "close the dispute on {it} and mark it paid" disputed -> paid

table port_requests port_request rows 3-8 create
  label reference code(PRT)
  ref line_id lines
  col direction enum(port_in,port_out)
  col other_carrier pick(Horizon Wireless|Metro Connect|Summit Cellular|Clearline Mobile|Atlas Telecom|Ridge Wireless)
  col requested_on pastdate(14)
  status status requested:3 approved:2 completed:3 rejected:1
  action approve "approve {it}" requested -> approved
  action reject "reject {it}" requested,approved -> rejected
  action complete "complete {it}" approved -> completed

table support_tickets support_ticket core rows 8-18 create
  label ticket_number code(TCK)
  ref subscriber_id subscribers
  ref line_id lines opt
  col category enum(billing,network_coverage,device,porting,roaming,activation)
  col priority enum(low,normal,high,urgent) edit
  col summary pick(No signal at home|Dropped calls downtown|Charged twice this month|Cannot activate eSIM|Roaming not working abroad|Slow data speeds|Voicemail not working|Number transfer stuck) opt
  status status open:4 in_progress:3 escalated:1 resolved:4
  action start "start working on {it}" open -> in_progress
  action escalate "escalate {it}" open,in_progress -> escalated
  action resolve "resolve {it}" open,in_progress,escalated -> resolved
  action reopen "reopen {it}" resolved -> open

table network_outages network_outage rows 2-6 create
  label incident_number code(NET)
  col city city
  col service enum(voice,data,sms,all_services)
  col affected_sites int(1,40)
  col started_at past(7)
  status status investigating:2 restoring:2 resolved:3
  action start_restoration "start restoring service for {it}" investigating -> restoring
  action resolve "mark {it} as resolved" investigating,restoring -> resolved
