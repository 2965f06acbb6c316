# Event planning: a planning agency's event desk.
domain event_planning
about event planning agency: clients, planners, venues with capacity, events with seat and budget limits, vendors and vendor bookings, guest lists and RSVPs, rentals, payments, contracts, site visits and task checklists
brand Golden Hour Events | Confetti & Co | Lumen Occasions | Bramble Event Studio | Northstar Celebrations | Silver Thread Planning

table clients client core rows 12-22 create
  label full_name person
  col email email
  col phone phone edit
  col organization company opt
  col preferred_contact enum(email,phone,text) opt edit
  status status active:8 inactive:2
  action archive "archive {it}" active -> inactive
  action restore "restore {it}" inactive -> active

table planners planner core rows 3-7 create
  label full_name person
  col email email
  col specialty enum(weddings,corporate,galas,birthdays,conferences) edit
  col max_active_events int(3,10) opt edit
  status status available:5 fully_booked:2 on_leave:1
  action mark_fully_booked "mark {it} as fully booked" available -> fully_booked
  action mark_available "mark {it} as available" fully_booked,on_leave -> available
  action start_leave "put {it} on leave" available,fully_booked -> on_leave

table venues venue core rows 4-9 create
  label name pick(The Glasshouse|Willow Barn|Harborview Ballroom|Cedar Lodge|The Foundry Loft|Magnolia Gardens|Riverside Pavilion|Grand Atrium|Summit Terrace|Old Mill Hall|Lakeside Conservatory|The Copper Room|Vineyard Courtyard)
  col city city
  col street_address street opt
  col max_capacity int(40,400)
  col rental_fee money(800,12000) edit
  col indoor bool opt
  col catering_kitchen bool opt
  status status bookable:6 under_renovation:1 closed:1
  action close_for_renovation "close {it} for renovation" bookable -> under_renovation
  action reopen "reopen {it} for bookings" under_renovation,closed -> bookable

table events event core rows 12-22 create
  label name combo(Spring|Summer|Autumn|Winter|Harvest|Midnight|Golden|Garden|Starlight|Riverside ; Gala|Wedding|Retreat|Launch Party|Fundraiser|Reunion|Conference|Anniversary Dinner|Awards Night|Holiday Party)
  ref client_id clients
  ref venue_id venues
  ref planner_id planners opt
  col event_date futuredate(240) edit
  col seats_remaining int(0,250)
  col budget_remaining money(3000,60000)
  col dress_code enum(casual,cocktail,black_tie,themed) opt edit
  status status tentative:3 planning:5 confirmed:4 completed:3 cancelled:1
  action start_planning "move {it} into planning" tentative -> planning
  action confirm "confirm {it}" planning -> confirmed
  action complete "mark {it} as completed" confirmed -> completed
  action cancel "cancel {it}" tentative,planning,confirmed -> cancelled

table vendors vendor core rows 8-16 create
  label name company
  col category enum(catering,photography,florist,dj,live_band,rentals,lighting,bakery,transportation)
  col contact_email email
  col phone phone opt
  col rating int(1,5) opt edit
  status status approved:6 probation:1 blocked:1
  action put_on_probation "put {it} on probation" approved -> probation
  action approve "approve {it}" probation,blocked -> approved
  action block "stop working with {it}" approved,probation -> blocked

table vendor_bookings vendor_booking core rows 12-26 create
  label booking_ref code(VB)
  ref event_id events consumes budget_remaining by cost
  ref vendor_id vendors
  col cost money(200,6000)
  col deposit_paid bool opt edit
  col arrival_time pick(7:00 AM|9:00 AM|11:00 AM|1:00 PM|3:00 PM|5:00 PM) opt edit
  status status requested:3 confirmed:5 fulfilled:2 cancelled:1
  action confirm "confirm {it}" requested -> confirmed
  action mark_fulfilled "mark {it} as fulfilled" confirmed -> fulfilled
  action cancel "cancel {it}" requested,confirmed -> cancelled

table guests guest core rows 18-40 create delete
  label full_name person
  ref event_id events consumes seats_remaining by party_size
  col party_size int(1,4)
  col email email opt
  col meal_choice enum(beef,chicken,fish,vegetarian,vegan,kids_meal) opt edit
  col table_number int(1,30) opt edit
  status status invited:4 attending:5 declined:2 checked_in:1
  action accept "mark {it} as attending" invited -> attending
  action decline "mark {it} as declined" invited,attending -> declined
  action check_in "check in {it}" attending -> checked_in

table rental_items rental_item rows 4-10 create
  label name pick(Chiavari Chair|Round Table|Banquet Table|Dance Floor Panel|String Light Set|Linen Tablecloth|Charger Plate|Floral Arch|Lounge Sofa|Cocktail Table|Patio Heater|Stage Riser|Uplight|Photo Booth)
  col units_available int(0,200)
  col daily_rate money(2,150) edit
  status status active:6 retired:1
  action retire "retire {it}" active -> retired
  action reinstate "return {it} to the catalogue" retired -> active

table rental_orders rental_order rows 4-12 create
  label rental_number code(RNT)
  ref event_id events
  ref rental_item_id rental_items consumes units_available by units
  col units int(1,60)
  col delivery_date futuredate(120)
  status status requested:3 confirmed:4 returned:2 cancelled:1
  action confirm "confirm {it}" requested -> confirmed
  action mark_returned "mark {it} as returned" confirmed -> returned
  action cancel "cancel {it}" requested,confirmed -> cancelled

table payments payment rows 6-16 create
  label receipt_number code(PAY)
  ref event_id events
  col amount money(250,15000)
  col method enum(card,bank_transfer,check,cash)
  col due_on futuredate(60)
  status status scheduled:3 received:5 late:1 refunded:1
  action mark_received "mark {it} as received" scheduled,late -> received
  action mark_late "mark {it} as late" scheduled -> late
  action refund "refund {it}" received -> refunded

table contracts contract rows 4-12 create
  label contract_number code(CTR)
  ref event_id events
  ref vendor_id vendors opt
  col total_value money(500,40000)
  col signed_on pastdate(120) opt
  status status draft:3 sent:3 signed:4 voided:1
  action send "send {it} for signature" draft -> sent
  action mark_signed "mark {it} as signed" sent -> signed
  action void "void {it}" draft,sent -> voided

table site_visits site_visit rows 4-10 create
  label visit_code code(SV)
  ref venue_id venues
  ref client_id clients
  col scheduled_for future(30)
  col attendees int(1,6) opt
  status status scheduled:4 completed:3 cancelled:1
  action complete "mark {it} as completed" scheduled -> completed
  action cancel "cancel {it}" scheduled -> cancelled

table tasks task rows 10-24 create delete
  label title combo(Confirm|Book|Finalize|Order|Schedule|Review|Send ; seating chart|floral arrangements|shuttle buses|menu tasting|sound check|welcome bags|invitations|rehearsal dinner|photo shot list|signage|cake tasting|lighting plan)
  ref event_id events
  ref planner_id planners opt
  col due_on futuredate(90) edit
  col priority enum(low,medium,high) edit
  status status not_started:5 in_progress:3 done:4 blocked:1
  action start "start {it}" not_started -> in_progress
  action complete "mark {it} as done" not_started,in_progress -> done
  action block "mark {it} as blocked" not_started,in_progress -> blocked
  action unblock "unblock {it}" blocked -> not_started
