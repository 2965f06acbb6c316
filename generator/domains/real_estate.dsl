# Real estate: a brokerage's listings, buyers, offers and rental management.
domain real_estate
about real estate brokerage back office: offices, agents, listings, buyers, viewings, offers, open houses, leases, contractors and maintenance requests
brand Keystone Realty | Harborview Homes | Oak & Ember Properties | Summit Real Estate Group | Bluegate Realty

table offices office rows 3-6 create
  label name pick(Downtown Office|Northside Office|Lakeshore Office|Westgate Office|Riverside Office|Hillcrest Office|Midtown Office|Airport Office|Old Town Office)
  col city city
  col phone phone opt edit
  col manager_name person opt edit

table agents agent core rows 8-16 create
  label full_name person
  col email email
  col phone phone opt edit
  ref office_id offices opt
  col license_number code(LIC)
  col commission_percent int(2,6) edit
  col specialty enum(residential,commercial,luxury,rentals,land) opt edit
  status status active:8 on_leave:1 inactive:1
  action deactivate "deactivate {it}" active,on_leave -> inactive
  action reactivate "reactivate {it}" on_leave,inactive -> active

table listings listing core rows 20-36 create
  label address street
  ref agent_id agents
  col city city
  col property_type enum(single_family,condo,townhouse,multi_family,land,commercial)
  col bedrooms int(0,6)
  col bathrooms int(1,4)
  col square_feet int(450,5200) opt
  col list_price money(95000,2400000) edit
  col hoa_fee money(0,650) opt edit
  col listed_on pastdate(180)
  status status coming_soon:2 active:6 under_contract:2 sold:2 withdrawn:1
  action activate "mark {it} as active on the market" coming_soon,under_contract,withdrawn -> active
  action withdraw "withdraw {it} from the market" coming_soon,active -> withdrawn
  action mark_under_contract "mark {it} as under contract" active -> under_contract
  action mark_sold "mark {it} as sold" under_contract -> sold

table buyers buyer core rows 18-30 create
  label full_name person
  col email email
  col phone phone opt edit
  ref agent_id agents opt
  col max_budget money(150000,2000000) edit
  col preapproved bool opt edit
  col preferred_city city opt edit
  col min_bedrooms int(1,5) opt edit
  status status active:7 paused:2 closed:1
  action pause "pause the home search for {it}" active -> paused
  action resume "resume the home search for {it}" paused -> active
  action close "close the buyer file of {it}" active,paused -> closed

table viewings viewing core rows 20-36 create
  label viewing_code code(VW)
  ref listing_id listings
  ref buyer_id buyers
  ref agent_id agents opt
  col viewing_type enum(in_person,virtual,open_house)
  col time_slot enum(morning,afternoon,evening)
  col scheduled_for future(21) opt
  col feedback pick(Loved the kitchen|Too small|Great location|Needs work|Over budget|Considering an offer|Noisy street|Perfect layout) opt edit
  status status scheduled:5 completed:4 cancelled:1 no_show:1
  action cancel "cancel {it}" scheduled -> cancelled
  action complete "mark {it} as completed" scheduled -> completed
  action mark_no_show "record {it} as a no-show" scheduled -> no_show

table offers offer core rows 16-28 create
  label offer_number code(OFR)
  ref listing_id listings
  ref buyer_id buyers
  col offer_amount money(100000,2200000)
  col financing enum(cash,conventional,fha,va,jumbo)
  col earnest_money money(1000,50000) opt
  col contingency enum(none,inspection,financing,appraisal,sale_of_home) opt edit
  col expires_at future(7)
  status status submitted:4 countered:2 accepted:2 rejected:2 withdrawn:1
  action accept "accept {it}" submitted,countered -> accepted
  action reject "reject {it}" submitted,countered -> rejected
  action counter "counter {it}" submitted -> countered
  action withdraw "withdraw {it}" submitted,countered -> withdrawn

table open_houses open_house rows 4-10 create
  label event_code code(OH)
  ref listing_id listings
  ref agent_id agents opt
  col starts_at future(30)
  col spots_left int(0,40)
  col refreshments bool opt
  status status scheduled:5 cancelled:1
  action cancel "cancel {it}" scheduled -> cancelled
  action reinstate "put {it} back on the calendar" cancelled -> scheduled

table open_house_rsvps open_house_rsvp rows 6-16 create delete
  label rsvp_code code(RSVP)
  ref open_house_id open_houses consumes spots_left by party_size
  ref buyer_id buyers opt
  col guest_name person
  col party_size int(1,5)
  col guest_email email opt

table leases lease rows 4-10 create
  label lease_number code(LSE)
  ref listing_id listings
  col tenant_name person
  col tenant_email email
  col monthly_rent money(900,6500) edit
  col security_deposit money(500,8000) opt
  col term_months int(6,24)
  col start_date futuredate(60)
  status status pending_signature:2 active:5 terminated:1 expired:1
  action sign "mark {it} as signed" pending_signature -> active
  action terminate "terminate {it}" active -> terminated
  action expire "mark {it} as expired" active -> expired

table contractors contractor rows 3-8 create delete
  label name company
  col trade enum(plumber,electrician,hvac,roofer,handyman,pest_control)
  col phone phone
  col hourly_rate money(40,150) opt edit
  col insured bool opt edit

table maintenance_requests maintenance_request rows 5-12 create
  label ticket_number code(MR)
  ref lease_id leases
  ref contractor_id contractors opt
  col category enum(plumbing,electrical,hvac,appliance,pest,roof,other)
  col priority enum(low,normal,urgent) edit
  col reported_at past(30)
  col estimated_cost money(50,2500) opt edit
  status status open:4 scheduled:3 completed:3 cancelled:1
  action schedule "schedule a repair visit for {it}" open -> scheduled
  action complete "mark {it} as completed" open,scheduled -> completed
  action cancel "cancel {it}" open,scheduled -> cancelled
