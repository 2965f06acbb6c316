# Ticketing: a box office for live events.
domain ticketing
about event ticketing box office: venues, performers, events and seat inventory, customers, ticket orders, refunds, waitlists, transfers and promo codes
brand Stagepass | Marquee Tix | Front Row Box Office | Encore Tickets | Turnstile

table venues venue core rows 5-9 create
  label name pick(Riverside Arena|The Orpheum|Granite Hall|Lakeside Amphitheater|Union Ballroom|Civic Center Theater|Foundry Music Hall|Pier 9 Pavilion|Majestic Playhouse|Northgate Stadium|Bluebird Club|Copper Dome|Ember Room|Westfield Bowl|Harborlight Theatre)
  col city city
  col capacity int(300,20000)
  col accessible_seating bool opt edit
  col box_office_phone phone opt edit
  status status open:8 closed:2
  action close "close {it} temporarily" open -> closed
  action reopen "reopen {it}" closed -> open

table performers performer core rows 10-18 create
  label name combo(The Velvet|Midnight|Electric|Neon|Silver|Crimson|Golden|Wild|Lunar|Paper|Iron|Hollow ; Foxes|Lanterns|Orchestra|Echoes|Tides|Ramblers|Sparrows|Collective|Pilots|Quartet|Rebels|Comets)
  col genre enum(rock,pop,jazz,classical,hip_hop,country,comedy,theatre,electronic)
  col manager_email email opt edit
  col home_city city opt
  col appearance_fee money(2000,50000) opt edit
  status status active:8 on_hiatus:2
  action put_on_hiatus "mark {it} as on hiatus" active -> on_hiatus
  action reactivate "mark {it} as active again" on_hiatus -> active

table events event core rows 16-30 create
  label title combo(Spring|Summer|Autumn|Winter|Midnight|Opening Night|Farewell|Anniversary|Homecoming|Late Show|Matinee|Encore ; Tour|Showcase|Gala|Revue|Concert|Jam|Spectacular|Festival|Premiere|Sessions|Night|Special)
  ref venue_id venues
  ref performer_id performers
  col starts_at future(120)
  col seats_available int(0,300)
  col base_price money(25,250) edit
  col age_restriction enum(all_ages,over_18,over_21) opt edit
  status status scheduled:2 on_sale:6 postponed:1 cancelled:1
  action open_sales "open ticket sales for {it}" scheduled -> on_sale
  action postpone "postpone {it}" scheduled,on_sale -> postponed
  action resume_sales "put {it} back on sale" postponed -> on_sale
  action cancel "cancel {it}" scheduled,on_sale,postponed -> cancelled

table customers customer core rows 20-36 create
  label full_name person
  col email email
  col phone phone opt edit
  col city city opt
  col marketing_opt_in bool opt edit
  col loyalty_points int(0,5000) opt
  status status active:9 banned:1
  action ban "ban {it} from buying tickets" active -> banned
  action unban "lift the ban on {it}" banned -> active

table promo_codes promo_code rows 3-8 create delete
  label code combo(EARLY|VIP|FANCLUB|STUDENT|GROUP|FLASH|PRESALE ; 10|15|20|25|30)
  col discount_percent int(5,30) edit
  col expires_on futuredate(60)
  col max_uses int(50,500) opt edit
  status status active:4 paused:1 expired:1
  action pause "pause {it}" active -> paused
  action resume "resume {it}" paused -> active

table ticket_orders ticket_order core rows 28-50 create
  label order_number code(TKT)
  ref customer_id customers
  ref event_id events consumes seats_available by ticket_count
  ref promo_code_id promo_codes opt
  col ticket_count int(1,6)
  col seat_section enum(floor,orchestra,mezzanine,balcony,general_admission)
  col amount_paid money(30,900)
  col delivery_method enum(mobile,print_at_home,will_call) opt edit
  col placed_at past(60)
  status status reserved:3 confirmed:6 cancelled:1 refunded:1
  action confirm "confirm payment for {it}" reserved -> confirmed
  action cancel "cancel {it}" reserved,confirmed -> cancelled

table refunds refund core rows 8-16 create
  label refund_number code(RFD)
  ref ticket_order_id ticket_orders
  col amount money(20,600)
  col reason enum(event_cancelled,event_postponed,duplicate_purchase,cannot_attend,wrong_seats)
  col requested_at past(30)
  status status requested:3 approved:3 paid_out:3 denied:1
  action approve "approve {it}" requested -> approved
  action deny "deny {it}" requested -> denied
  action process "process the payout for {it}" approved -> paid_out

table waitlist_entries waitlist_entry rows 5-12 create delete
  label entry_code code(WL)
  ref event_id events
  ref customer_id customers
  col party_size int(1,6)
  col joined_at past(20)
  status status waiting:5 offered:2 converted:2 expired:1
  action offer "offer tickets to {it}" waiting -> offered
  action convert "mark {it} as converted to a purchase" offered -> converted
  action expire "expire {it}" waiting,offered -> expired

table ticket_transfers ticket_transfer rows 3-8 create
  label transfer_code code(TRF)
  ref ticket_order_id ticket_orders
  col recipient_name person
  col recipient_email email
  col sent_at past(14)
  status status pending:3 accepted:3 declined:1 revoked:1
  action accept "mark {it} as accepted" pending -> accepted
  action revoke "revoke {it}" pending -> revoked

table staff_members staff_member rows 4-10 create
  label full_name person
  ref venue_id venues
  col role enum(usher,box_office,security,stage_crew,manager)
  col email email opt
  col hourly_rate money(15,45) opt edit
  status status active:8 on_leave:1 terminated:1
  action terminate "terminate the employment of {it}" active,on_leave -> terminated
  action return_from_leave "bring {it} back from leave" on_leave -> active

table sponsors sponsor rows 3-6 create delete
  label name company
  ref event_id events opt
  col contribution money(1000,50000) edit
  col contact_email email opt
  col tier enum(presenting,gold,silver,community) opt

table support_cases support_case rows 4-10 create
  label case_number code(CS)
  ref customer_id customers
  ref ticket_order_id ticket_orders opt
  col topic enum(delivery,seating,refund,accessibility,account)
  col opened_at past(30)
  status status open:4 waiting_on_customer:2 resolved:3
  action resolve "resolve {it}" open,waiting_on_customer -> resolved
  action reopen "reopen {it}" resolved -> open
