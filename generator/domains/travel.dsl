# Travel: a travel management agency's booking desk.
domain travel
about travel agency booking desk: travellers, trips, airlines, flights with open seats, flight bookings, itinerary items, visa applications, travel insurance and claims, airport transfers
brand Wayfarer Travel | Compass Rose Journeys | Jetstream Trips | Globetrek Agency | Bluesky Itineraries

table travellers traveller core rows 18-32 create
  label full_name person
  col email email
  col phone phone opt edit
  col passport_number code(PP)
  col passport_expires futuredate(2500) opt edit
  col frequent_flyer_tier enum(none,silver,gold,platinum) edit
  col home_city city opt edit
  col meal_preference enum(standard,vegetarian,vegan,halal,kosher,gluten_free) opt edit
  status status active:9 blocked:1
  action block "block {it} from new bookings" active -> blocked
  action unblock "unblock {it}" blocked -> active

table airlines airline core rows 4-8
  label name pick(Skyward Air|Pacific Crest Airlines|Northern Star Airways|Blue Meridian|Atlas Jet|Coral Coast Airlines|Summit Air|Horizonline|Aurora Airways|TransContinental|Silverwing|Cascadia Air|Meridian Express|Polar Wings)
  col alliance enum(oneworld,star_alliance,skyteam,unaligned)
  col hub_city city
  col support_phone phone opt

table flights flight core rows 14-28 create
  label flight_number combo(SK|PC|NS|BM|AJ|CC|SA|HL ; 102|118|205|231|340|377|412|459|508|615|722|846)
  ref airline_id airlines
  col origin pick(JFK|LAX|ORD|ATL|DFW|SFO|SEA|BOS|MIA|DEN)
  col destination pick(LHR|CDG|NRT|FRA|AMS|MEX|YYZ|DXB|SIN|FCO|MAD|ICN)
  col departs_at future(60) edit
  col seats_available int(0,60) edit
  col fare money(89,1400) edit
  col cabin enum(economy,premium_economy,business,first)
  status status scheduled:8 delayed:2 departed:2 cancelled:1
  action delay "mark {it} as delayed" scheduled -> delayed
  action cancel "cancel {it}" scheduled,delayed -> cancelled
  action mark_departed "mark {it} as departed" scheduled,delayed -> departed

table trips trip core rows 12-22 create
  label trip_code code(TRP)
  ref traveller_id travellers
  col purpose enum(business,leisure,conference,family_visit)
  col destination_city city
  col starts_on futuredate(90) edit
  col nights int(1,21) edit
  col budget money(500,8000) opt edit
  status status planning:4 confirmed:4 in_progress:1 completed:3 cancelled:1
  action confirm "confirm {it}" planning -> confirmed
  action cancel "cancel {it}" planning,confirmed -> cancelled
  action complete "mark {it} as completed" in_progress -> completed

table flight_bookings flight_booking core rows 20-34 create
  label booking_reference code(PNR)
  ref trip_id trips
  ref flight_id flights consumes seats_available by passengers
  col passengers int(1,4)
  col total_fare money(100,5000)
  col checked_bags int(0,3) opt edit
  col seat_preference enum(window,aisle,middle,no_preference) opt edit
  status status booked:5 ticketed:5 checked_in:2 cancelled:1
  action issue_tickets "issue the tickets for {it}" booked -> ticketed
  action check_in "check in {it}" ticketed -> checked_in
  action cancel "cancel {it}" booked,ticketed -> cancelled

table itinerary_items itinerary_item core rows 14-26 create delete
  label title combo(Museum|Harbor|Old Town|Wine|Food|Mountain|River|Street Art|Castle|Market ; Tour|Visit|Cruise|Tasting|Walk|Excursion)
  ref trip_id trips
  col scheduled_for future(90) edit
  col category enum(activity,transfer,dining,meeting,sightseeing)
  col cost money(0,400) opt edit
  status status planned:5 booked:4 cancelled:1
  action book "book {it}" planned -> booked
  action cancel "cancel {it}" planned,booked -> cancelled

table visa_applications visa_application rows 5-12 create
  label application_number code(VISA)
  ref traveller_id travellers
  col destination_country pick(Japan|India|Brazil|Australia|China|Kenya|Turkey|Vietnam|Egypt|Saudi Arabia|Nigeria|Indonesia)
  col visa_type enum(tourist,business,transit,work,student)
  col fee money(20,250)
  col submitted_on pastdate(45) opt
  status status draft:2 submitted:3 approved:3 rejected:1 withdrawn:1
  action submit "submit {it}" draft -> submitted
  action withdraw "withdraw {it}" draft,submitted -> withdrawn
  action record_approval "record {it} as approved" submitted -> approved

table insurance_policies insurance_policy rows 5-12 create
  label policy_number code(POL)
  ref trip_id trips
  col plan enum(basic,standard,comprehensive,annual_multi_trip)
  col premium money(25,600)
  col coverage_limit money(5000,250000) opt
  col insurer pick(Harborstone Assurance|TravelSafe Mutual|Northwind Cover|Globe Guard Insurance|Meridian Underwriters) opt
  status status active:5 expired:2 cancelled:1
  action cancel "cancel {it}" active -> cancelled

table insurance_claims insurance_claim rows 3-8 create
  label claim_number code(ICL)
  ref insurance_policy_id insurance_policies
  col claim_type enum(trip_cancellation,lost_baggage,medical,flight_delay)
  col amount_claimed money(50,6000) edit
  col incident_on pastdate(30) opt
  status status submitted:3 approved:2 denied:1 paid:2
  action approve "approve {it}" submitted -> approved
  action deny "deny {it}" submitted -> denied
  action pay "pay out {it}" approved -> paid

table airport_transfers airport_transfer rows 4-10 create delete
  label transfer_code code(TRF)
  ref flight_booking_id flight_bookings
  col pickup_at future(60) edit
  col vehicle enum(sedan,suv,minivan,shuttle) edit
  col price money(25,180)
  status status requested:3 confirmed:4 cancelled:1
  action confirm "confirm {it}" requested -> confirmed
  action cancel "cancel {it}" requested,confirmed -> cancelled

table travel_expenses travel_expense rows 6-14 create
  label expense_number code(TEX)
  ref trip_id trips
  col category enum(airfare,lodging,meals,ground_transport,visa_fees,other)
  col amount money(10,2500) edit
  col incurred_on pastdate(60)
  status status submitted:4 approved:3 reimbursed:2 rejected:1
  action approve "approve {it}" submitted -> approved
  action reject "reject {it}" submitted -> rejected
  action reimburse "reimburse {it}" approved -> reimbursed
