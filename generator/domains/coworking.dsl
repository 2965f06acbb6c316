# Coworking: a flexible-workspace operator's member desk.
domain coworking
about coworking operator back office: membership plans, members and their companies, locations, meeting rooms and desks, bookings paid with credits, guest passes, invoices, mail handling, community events and support tickets
brand Hive Commons | Foundry Works | Ledger Hall | Lantern Coworking | Common Ground Studios | Parkside Desk Co

table plans plan core rows 4-7 create
  label name pick(Hot Desk|Dedicated Desk|Private Office|Virtual Office|Day Pass Bundle|Team Suite|Flex 10|Flex 20|Night Owl|Weekend Warrior|Founder Plus|Studio Pro)
  col monthly_fee money(49,1200) edit
  col monthly_credits int(10,200) edit
  col includes_mail_handling bool opt
  col max_guests_per_month int(0,20) opt edit
  status status available:5 retired:1
  action retire "stop selling {it}" available -> retired
  action reintroduce "start selling {it} again" retired -> available

table companies company rows 4-10 create
  label name company
  col billing_email email
  col team_size int(2,40) opt edit
  col industry enum(software,design,marketing,finance,nonprofit,media,consulting)
  status status active:6 former:1
  action offboard "offboard {it}" active -> former

table locations location core rows 3-6 create
  label name pick(Riverside Loft|Union Station Hub|Foundry Building|Midtown Tower|Old Mill Annex|Harbor Point|Arts District Studio|Tech Square|Elm Street House|Canal Works)
  col street_address street
  col city city
  col opening_hour int(6,9) opt edit
  col has_parking bool opt
  status status open:5 renovating:1 closed:1
  action close_for_renovation "close {it} for renovation" open -> renovating
  action reopen "reopen {it}" renovating,closed -> open

table members member core rows 16-30 create
  label full_name person
  col email email
  col phone phone opt edit
  ref plan_id plans
  ref company_id companies opt
  ref home_location_id locations opt
  col credit_balance int(0,120) edit
  col guest_passes_left int(0,8) edit
  col access_card code(CARD) opt
  col joined_on pastdate(900)
  status status active:8 paused:2 cancelled:1
  action pause "pause the membership for {it}" active -> paused
  action resume "resume the membership for {it}" paused -> active
  action cancel "cancel the membership for {it}" active,paused -> cancelled

table spaces space core rows 12-26 create
  label name combo(Cedar|Birch|Maple|Willow|Aspen|Juniper|Alder|Hazel|Rowan|Spruce ; Room|Booth|Studio|Suite|Lounge|Boardroom|Nook)
  ref location_id locations
  col kind enum(meeting_room,phone_booth,private_office,event_space,podcast_studio)
  col seats int(1,40) edit
  col credits_per_hour int(1,12) edit
  col has_av_equipment bool opt
  status status available:8 maintenance:2 retired:1
  action take_offline "take {it} offline for maintenance" available -> maintenance
  action bring_online "put {it} back in service" maintenance -> available
  action retire "retire {it}" available,maintenance -> retired

table desks desk rows 8-20 create
  label desk_number code(DSK)
  ref location_id locations
  ref member_id members opt
  col monitor_count int(0,2) edit
  col standing_desk bool opt
  col zone enum(quiet,collaborative,window,phone_friendly) opt
  status status vacant:4 assigned:5 out_of_service:1
  action mark_out_of_service "mark {it} as out of service" vacant,assigned -> out_of_service
  action restore "return {it} to service" out_of_service -> vacant

table bookings booking core rows 16-34 create
  label booking_ref code(BKG)
  ref member_id members consumes credit_balance by credits_charged
  ref space_id spaces
  col credits_charged int(1,12)
  col attendees int(1,12)
  col starts_at future(21)
  col duration_hours int(1,4)
  col catering_requested bool opt edit
  status status confirmed:6 checked_in:2 completed:4 cancelled:1 no_show:1
  action check_in "check in {it}" confirmed -> checked_in
  action complete "mark {it} as completed" checked_in -> completed
  action cancel "cancel {it}" confirmed -> cancelled
  action mark_no_show "mark {it} as a no-show" confirmed -> no_show

table guest_passes guest_pass core rows 8-18 create
  label pass_code code(GP)
  ref member_id members consumes guest_passes_left by guest_count
  ref location_id locations opt
  col guest_name person
  col guest_count int(1,3)
  col visit_date futuredate(14)
  status status issued:5 used:4 revoked:1 expired:1
  action mark_used "mark {it} as used" issued -> used
  action revoke "revoke {it}" issued -> revoked

table credit_purchases credit_purchase rows 4-12 create
  label receipt_number code(CRD)
  ref member_id members
  col credits int(5,50)
  col price money(10,250)
  col purchased_at past(60)
  status status pending:2 completed:6 refunded:1
  action complete "complete {it}" pending -> completed
  action refund "refund {it}" completed -> refunded

table invoices invoice core rows 12-26 create
  label invoice_number code(INV)
  ref member_id members
  col amount money(25,1500)
  col billing_month pick(January|February|March|April|May|June|July|August|September|October|November|December)
  col due_date futuredate(30)
  col payment_method enum(card,ach,invoice_transfer) opt edit
  status status draft:2 issued:4 paid:5 overdue:2 void:1
  action issue "issue {it}" draft -> issued
  action mark_paid "mark {it} as paid" issued,overdue -> paid
  action void "void {it}" draft,issued -> void

table mail_items mail_item rows 6-16 create
  label tracking_code code(MAIL)
  ref member_id members
  col carrier enum(usps,ups,fedex,dhl,courier)
  col item_type enum(letter,parcel,large_parcel,certified_letter)
  col received_at past(14)
  status status received:5 notified:3 picked_up:4 returned_to_sender:1
  action notify "notify the recipient of {it}" received -> notified
  action mark_picked_up "mark {it} as picked up" received,notified -> picked_up
  action return_to_sender "return {it} to the sender" received,notified -> returned_to_sender

table events community_event rows 3-8 create delete
  label title pick(Founders Breakfast|Friday Happy Hour|Design Critique Night|Lunch and Learn|Pitch Practice|Rooftop Yoga|Hack Night|Investor Office Hours|Book Club|Member Mixer|Portfolio Review|Coffee Cupping)
  ref location_id locations
  col seats_left int(0,60)
  col starts_at future(45)
  col host_name person opt
  status status scheduled:5 full:1 cancelled:1
  action mark_full "mark {it} as full" scheduled -> full
  action cancel "cancel {it}" scheduled,full -> cancelled

table event_rsvps rsvp rows 6-16 create delete
  label rsvp_code code(RSVP)
  ref community_event_id events consumes seats_left by seats
  ref member_id members
  col seats int(1,3)
  status status going:6 waitlisted:2 withdrawn:1
  action withdraw "withdraw {it}" going,waitlisted -> withdrawn
  action confirm "move {it} off the waitlist" waitlisted -> going

table support_tickets support_ticket rows 6-14 create
  label ticket_number code(TKT)
  ref member_id members
  ref location_id locations opt
  col category enum(wifi,access_card,cleaning,noise,printing,billing,climate)
  col priority enum(low,normal,high,urgent) edit
  status status open:4 in_progress:3 resolved:4 closed:1
  action start "start work on {it}" open -> in_progress
  action resolve "resolve {it}" open,in_progress -> resolved
  action reopen "reopen {it}" resolved -> open
