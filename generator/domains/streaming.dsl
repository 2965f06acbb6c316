# Streaming: a video streaming service's subscriber and catalogue operations.
domain streaming
about video streaming service back office: subscribers, plans, profiles, catalogue titles and episodes, watchlists, devices, payments and rentals
brand Lumen Plus | Reelhouse | Nightcap TV | Streamline | Kestrel Play

table plans plan core rows 3-6 create
  label name pick(Basic|Standard|Premium|Family|Student|Ad-Supported|Annual Premium|Mobile Only|Ultra 4K|Duo)
  col monthly_price money(5,25) edit
  col max_streams int(1,6)
  col video_quality enum(sd,hd,uhd)
  col has_ads bool opt
  col free_trial_days int(0,30) opt edit
  status status available:4 retired:1
  action retire "retire {it}" available -> retired
  action reinstate "make {it} available again" retired -> available

table genres genre core rows 5-9 create delete
  label name pick(Drama|Comedy|Documentary|Thriller|Sci-Fi|Animation|Horror|Romance|Reality|Crime|Fantasy|Kids & Family|Stand-up)
  col description pick(Editor picks|Trending now|Award winners|Hidden gems|New this month) opt edit

table subscribers subscriber core rows 20-36 create
  label full_name person
  col email email
  ref plan_id plans
  col country enum(us,ca,uk,de,fr,au,br,jp)
  col wallet_balance money(0,60)
  col billing_day int(1,28) opt edit
  col phone phone opt edit
  status status active:7 paused:1 past_due:1 cancelled:1
  action pause "pause the subscription of {it}" active -> paused
  action resume "resume the subscription of {it}" paused -> active
  action cancel "cancel the subscription of {it}" active,paused,past_due -> cancelled

table profiles profile core rows 16-28 create delete
  label profile_name pick(Mom|Dad|Kids|Grandma|Grandpa|Jamie|Ali|Sam|Theo|Nina|Leo|Maya|Guest|Ollie|Zoe|Rafi|Priya|Ben|Ivy|Max|Lena|Kai|Rosa|Jun|Tess|Omar|Eli|Nora|Finn|Hana|Iris|Marco|Dev|Ruby|Gus|Mila|Sol|Ada|Remy|Lux|Cleo|Arlo|Bea|Kit)
  ref subscriber_id subscribers
  col maturity_rating enum(kids,teen,adult) edit
  col language enum(english,spanish,french,german,portuguese,japanese) opt edit
  col autoplay bool opt edit

table titles title core rows 20-34 create
  label name combo(The Last|Silent|Broken|Hidden|Northern|Golden|Midnight|Crimson|Distant|Wild|Lost|Burning|Frozen|Secret ; Harbor|Kingdom|Signal|Orchard|Frontier|Garden|Archive|Station|Lighthouse|Empire|Circuit|Valley|Summer|Protocol)
  ref genre_id genres
  col title_type enum(movie,series,documentary,special)
  col release_year int(1985,2025)
  col runtime_minutes int(22,180) opt
  col content_rating enum(g,pg,pg_13,r,tv_ma) opt edit
  col licensed_until futuredate(365) opt edit
  status status coming_soon:2 published:7 removed:1
  action publish "publish {it}" coming_soon -> published
  action remove "take {it} off the service" coming_soon,published -> removed
  action restore "restore {it} to the catalogue" removed -> published

table episodes episode rows 10-24 create delete
  label episode_code code(EP)
  ref title_id titles
  col season_number int(1,6)
  col episode_number int(1,12)
  col episode_title pick(Pilot|The Return|Homecoming|Fault Lines|Aftermath|Crossroads|Low Tide|Night Shift|Endgame|First Light)
  col duration_minutes int(20,65)
  status status scheduled:2 released:6 pulled:1
  action release "release {it}" scheduled -> released
  action pull "pull {it} from the service" scheduled,released -> pulled

table device_registrations device_registration rows 8-20 create delete
  label device_name combo(Living Room|Bedroom|Kitchen|Office|Den|Guest Room|Basement|Travel|Nursery|Patio ; TV|Tablet|Phone|Laptop|Roku|Fire Stick|Console|Projector)
  ref subscriber_id subscribers
  col device_type enum(smart_tv,mobile,tablet,web,console,streaming_stick)
  col last_seen_at past(30)
  col app_version pick(v5.2.1|v5.3.0|v5.4.2|v6.0.0|v6.1.3) opt
  status status active:7 blocked:1 deregistered:2
  action block "block {it}" active -> blocked
  action deregister "deregister {it}" active,blocked -> deregistered

table payments payment core rows 28-48 create
  label payment_ref code(PAY)
  ref subscriber_id subscribers
  col amount money(5,30)
  col method enum(card,paypal,gift_card,apple_pay,google_pay)
  col paid_at past(90)
  col invoice_period pick(January|February|March|April|May|June|July|August|September|October|November|December) opt
  status status pending:2 succeeded:7 failed:1 refunded:1
  action settle "mark {it} as settled" pending -> succeeded
  action mark_failed "mark {it} as failed" pending -> failed
  action refund "refund {it}" succeeded -> refunded

table watchlist_items watchlist_item rows 10-24 create delete
  label item_code code(WLI)
  ref profile_id profiles
  ref title_id titles
  col added_at past(120)
  col priority enum(low,normal,high) opt edit

table rentals rental rows 6-14 create
  label rental_code code(RNT)
  ref subscriber_id subscribers consumes wallet_balance by price
  ref title_id titles
  col price money(3,20)
  col rented_at past(30)
  col quality enum(sd,hd,uhd) opt
  status status active:4 expired:4 refunded:1
  action expire "expire {it}" active -> expired
  action refund "refund {it}" active,expired -> refunded

table viewing_sessions viewing_session rows 10-24
  label session_code code(VS)
  ref profile_id profiles
  ref title_id titles
  col watched_minutes int(1,180)
  col started_at past(30)
  col device enum(smart_tv,mobile,tablet,web,console) opt
